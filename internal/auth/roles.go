package auth

// Role is what a user may do (users.role). Least privilege: a route names
// the roles it admits, there is no hierarchy.
type Role string

// Roles.
const (
	// RoleTrader trades with their own accounts and sees only their data.
	RoleTrader Role = "trader"
	// RoleSupport reads any user's trades for forensics (read-only, every
	// access audited) and nothing else.
	RoleSupport Role = "support"
	// RoleAdmin reads analytics and the audit log.
	RoleAdmin Role = "admin"
)

// Roles lists every role.
var Roles = []Role{RoleTrader, RoleSupport, RoleAdmin}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// ActionSupportAccess is recorded on a trader's audit chain each time a
// support agent reads their data (the audited exception to isolation).
const ActionSupportAccess = "SUPPORT_DATA_ACCESSED"
