-- An operator can disable an account (composite admin disable): it cannot log in or use a token.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
