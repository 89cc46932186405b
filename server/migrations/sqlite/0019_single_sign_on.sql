-- Single sign-on (`app/src/sso/ssr.rs`): the identity a user is bound to at the OpenID provider
-- after their first sign-in there, matched by issuer and subject from then on.
ALTER TABLE principals ADD COLUMN oidc_issuer TEXT;
ALTER TABLE principals ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX principals_oidc ON principals (oidc_issuer, oidc_subject)
    WHERE oidc_subject IS NOT NULL;
-- Each sign-in's answer counts once, whichever server it reaches (by its state's digest).
CREATE TABLE sso_answered (
    state_digest TEXT PRIMARY KEY,
    at INTEGER NOT NULL
);
