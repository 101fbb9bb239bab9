-- Workers look up only the rows that owe their counter-party a message, by due time. Indexing
-- just those rows keeps the index small, and a write to a row that owes nothing, before or
-- after, leaves it alone.
DROP INDEX negotiations_due;
CREATE INDEX negotiations_due ON negotiations (not_before) WHERE pending = 1;
DROP INDEX transfers_due;
CREATE INDEX transfers_due ON transfers (not_before) WHERE pending = 1;
