package schema

import "time"

// Session is one sign-in of a user (internal/auth). Its id is the family id
// of its refresh tokens and the "sid" claim of its access tokens; revoking
// it ends every token of the family at once.
type Session struct {
	ID     string `gorm:"primaryKey;size:36"`
	UserID string `gorm:"index;size:36;not null"`
	// Kind: browser (bound to its network and user agent, refreshable) or
	// script (an access token issued out of band, e.g. the dev demo token;
	// unbound, not refreshable, ends with its token).
	Kind     string `gorm:"size:16;not null"`
	Provider string `gorm:"size:16;not null"` // password | discord | dev
	// Binding: the client that signed in. Network is the IP prefix (/24 for
	// IPv4, /48 for IPv6); empty Network and UserAgentHash mean unbound.
	IPAddress     string `gorm:"size:64;not null;default:''"`
	Network       string `gorm:"size:64;not null;default:''"`
	UserAgent     string `gorm:"size:300;not null;default:''"`
	UserAgentHash string `gorm:"size:64;not null;default:''"`
	CreatedAt     time.Time
	RefreshedAt   *time.Time
	ExpiresAt     time.Time `gorm:"index;not null"`
	RevokedAt     *time.Time
	RevokeReason  string `gorm:"size:32;not null;default:''"`
}

// RefreshToken is one opaque refresh token of a session (the family),
// stored as SHA-256 hex. Each use rotates it: RotatedAt is set and a new
// token of the same family issued; presenting a rotated token again revokes
// the family (SESSION_HIJACK_DETECTED).
type RefreshToken struct {
	ID        string `gorm:"primaryKey;size:36"`
	SessionID string `gorm:"index;size:36;not null"`
	UserID    string `gorm:"size:36;not null"`
	TokenHash string `gorm:"uniqueIndex;size:64;not null"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"not null"`
	RotatedAt *time.Time
	RevokedAt *time.Time
}

// SigningKey is one JWT signing key. The key is sealed with AES-256-GCM
// under a key derived from JWT_SECRET (internal/auth/keys.go), bound to its
// kid. A key signs until SignUntil and verifies until VerifyUntil.
type SigningKey struct {
	KID         string `gorm:"column:kid;primaryKey;size:32"`
	Algorithm   string `gorm:"size:16;not null"`
	Sealed      []byte `gorm:"not null"`
	CreatedAt   time.Time
	SignUntil   time.Time `gorm:"not null"`
	VerifyUntil time.Time `gorm:"not null"`
	RevokedAt   *time.Time
}

// AuthIdentity links a user to an account at an OAuth provider (discord,
// later github, google); (Provider, Subject) is unique.
type AuthIdentity struct {
	ID          string `gorm:"primaryKey;size:36"`
	UserID      string `gorm:"index;size:36;not null"`
	Provider    string `gorm:"size:16;not null;uniqueIndex:ux_auth_identity_provider_subject,priority:1"`
	Subject     string `gorm:"size:128;not null;uniqueIndex:ux_auth_identity_provider_subject,priority:2"`
	Email       string `gorm:"size:320;not null;default:''"`
	CreatedAt   time.Time
	LastLoginAt *time.Time
}

// LoginAttempt is one email/password sign-in attempt, kept to detect
// credential stuffing (> 5 failures for one account in 10 minutes raises a
// security alert). EmailHash is SHA-256 hex of the normalised email, so
// mistyped passwords pasted into the email field are not stored in clear.
type LoginAttempt struct {
	ID        string    `gorm:"primaryKey;size:36"`
	EmailHash string    `gorm:"size:64;not null;index:ix_login_attempt_email_created,priority:1"`
	UserID    string    `gorm:"size:36;not null;default:''"`
	IPAddress string    `gorm:"size:64;not null;default:''"`
	Succeeded bool      `gorm:"not null;default:false"`
	CreatedAt time.Time `gorm:"not null;index;index:ix_login_attempt_email_created,priority:2"`
}
