package audit

// Key lifecycle actions (issue 15, DESIGN "Key lifecycle"): recorded on the
// system chain by the key-rotation workflow, `tradeexec keys` and the admin
// API. Details name versions, kids and counts, never key material.
const (
	ActionVaultKeyCreated       = "VAULT_KEY_CREATED"
	ActionVaultKeyReencrypted   = "VAULT_KEY_REENCRYPTED"
	ActionVaultKeyRetired       = "VAULT_KEY_RETIRED"
	ActionVaultKeyRetireSkipped = "VAULT_KEY_RETIRE_SKIPPED"
	ActionSigningKeyRotated     = "SIGNING_KEY_ROTATED"
	ActionSigningKeyRetired     = "SIGNING_KEY_RETIRED"
	ActionSigningKeyRevoked     = "SIGNING_KEY_REVOKED"
	ActionUserSessionsRevoked   = "USER_SESSIONS_REVOKED"
)
