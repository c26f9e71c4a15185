-- Trail schema version 3: stream destinations and their durable cursors
-- (stream.go); times in Unix microseconds, 0 for never. The lease says
-- which replica sends for a destination, until when.
CREATE TABLE streams (
	org             text COLLATE "C" NOT NULL,
	id              text COLLATE "C" NOT NULL,
	name            text NOT NULL,
	kind            text NOT NULL,
	format          text NOT NULL,
	filter          text NOT NULL,
	settings        text NOT NULL,
	paused          boolean NOT NULL,
	created         bigint NOT NULL,
	delivered_seq   bigint NOT NULL DEFAULT -1,
	checkpoint_size bigint NOT NULL DEFAULT 0,
	epoch           bigint NOT NULL DEFAULT 0,
	failures        bigint NOT NULL DEFAULT 0,
	last_error      text NOT NULL DEFAULT '',
	last_error_at   bigint NOT NULL DEFAULT 0,
	last_success_at bigint NOT NULL DEFAULT 0,
	lease_holder    text NOT NULL DEFAULT '',
	lease_until     bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (org, id),
	UNIQUE (org, name)
);
