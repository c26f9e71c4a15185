-- Trail schema version 4: retention policies per org (issue 11; see
-- docs/retention.md). Version 3 is the streams' schema.
CREATE TABLE policies (
	org               text COLLATE "C" PRIMARY KEY,
	retention         text NOT NULL,
	legal_hold        boolean NOT NULL,
	legal_hold_reason text NOT NULL,
	updated           bigint NOT NULL
);

-- P per org: events 0 … P-1 were pruned (prune.go). Their tree hashes
-- stay in tree.
ALTER TABLE orgs ADD COLUMN pruned bigint NOT NULL DEFAULT 0;

-- Erasures of a person (erase.go): never the person, only the request's
-- id, reason, state and count; times in Unix microseconds, 0 for not yet.
CREATE TABLE erasures (
	org     text COLLATE "C" NOT NULL,
	id      text COLLATE "C" NOT NULL,
	reason  text NOT NULL,
	state   text NOT NULL,
	events  bigint NOT NULL,
	error   text NOT NULL,
	created bigint NOT NULL,
	done    bigint NOT NULL,
	PRIMARY KEY (org, id)
);
