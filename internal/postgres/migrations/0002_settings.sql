-- Trail schema version 2: settings every replica must agree on, such as
-- the verifier key of the key that signs checkpoints (signer.go).
CREATE TABLE settings (
	name  text COLLATE "C" PRIMARY KEY,
	value text NOT NULL
);
