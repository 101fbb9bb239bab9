-- The ODRL `count` operand is checked against every delivery under an agreement.
CREATE INDEX transfers_agreement ON transfers (agreement_id);
