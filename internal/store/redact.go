package store

import (
	"net/url"
	"strings"
)

// secretParams are connection-string query parameters whose values are
// secrets and must never appear in an error or a log line.
var secretParams = []string{"password", "sslpassword", "sslkey", "passfile"}

// RedactURL returns databaseURL with its password (userinfo or query
// parameter) replaced by "xxxxx", safe to show in errors and logs. A string
// that does not parse as a URL is reduced to its scheme.
func RedactURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		if i := strings.Index(databaseURL, ":"); i > 0 {
			return databaseURL[:i] + ":<unparseable>"
		}
		return "<unparseable>"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for _, p := range secretParams {
			if q.Has(p) {
				q.Set(p, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// scrub removes every occurrence of the URL's secrets from msg; drivers may
// echo parts of the connection string in their errors.
func scrub(msg, databaseURL string) string {
	for _, s := range urlSecrets(databaseURL) {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func urlSecrets(databaseURL string) []string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, has := u.User.Password(); has && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	q := u.Query()
	for _, p := range secretParams {
		if v := q.Get(p); v != "" {
			out = append(out, v, url.QueryEscape(v))
		}
	}
	return out
}
