-- Failed logins, kept briefly so that both applications throttle the same attempts.
CREATE TABLE login_failures (
    key VARCHAR NOT NULL,  -- 'user:<lower-cased name>' or 'ip:<client address>'
    failed_at TIMESTAMP NOT NULL
);
