-- Issue 15: the cycle's classification queue. `schedule` fills it with every company's request-sized
-- batches in fair order; each classify_lane task (one pool slot) claims the next ready batch, sends it
-- and marks it done, until the queue is empty: a lane's slot carries a request from any company.
CREATE TABLE IF NOT EXISTS classify_queue (
    cycle_id     text NOT NULL REFERENCES cycles (cycle_id),
    position     integer NOT NULL,               -- the fair order: round robin over companies
    company_nit  text NOT NULL REFERENCES companies (nit),
    wave         smallint NOT NULL CHECK (wave IN (1, 2)),
    invoice_ids  bigint[] NOT NULL,
    waits_for    bigint[] NOT NULL DEFAULT '{}', -- wave 2: the representatives its look-alikes learn from
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'claimed', 'done')),
    claimed_by   text,                           -- the lane ("lane-3"), never a person or a key
    claimed_at   timestamptz,
    done_at      timestamptz,
    planned_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cycle_id, position)
);

CREATE INDEX IF NOT EXISTS classify_queue_open ON classify_queue (cycle_id, position) WHERE status <> 'done';
