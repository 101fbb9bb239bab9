-- Documents: JSON records of the apps and of the scheme operator (applications, participants,
-- footprints, passports...), so that those crates persist through one small trait instead of
-- writing SQL. `lookup` is one optional secondary key per document (a DID, a trace id).
CREATE TABLE documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    lookup TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX documents_lookup ON documents (collection, lookup);
CREATE INDEX documents_order ON documents (collection, created_at, id);
-- Journals: append-only streams (audit trails). Nothing updates or deletes their rows.
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX journal_stream ON journal (stream, seq);
