-- A provider creates one negotiation per consumer process id and consumer: a repeated initial
-- ContractRequestMessage, or the same one reaching two replicas at once, finds the first.
CREATE UNIQUE INDEX negotiations_idempotent_request ON negotiations (counter_party_id, consumer_pid)
    WHERE role = 'provider';
