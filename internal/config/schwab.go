package config

import (
	"fmt"
	"net/url"
	"strings"
)

// SchwabCallbackPath is where Schwab sends the browser back after consent
// (api: GET /brokers/schwab/callback).
const SchwabCallbackPath = "/brokers/schwab/callback"

// schwab reads the optional Schwab Trader API app: SCHWAB_CLIENT_ID and
// SCHWAB_CLIENT_SECRET together (the app key and secret from
// developer.schwab.com), SCHWAB_REDIRECT_URL defaulting to PUBLIC_URL +
// SchwabCallbackPath. It must be https (Schwab accepts http only on
// 127.0.0.1) and registered with the app exactly.
func (l *loader) schwab() {
	l.cfg.SchwabClientID = l.env("SCHWAB_CLIENT_ID")
	l.cfg.SchwabClientSecret = Secret(l.env("SCHWAB_CLIENT_SECRET"))
	l.cfg.SchwabRedirectURL = l.env("SCHWAB_REDIRECT_URL")
	switch {
	case l.cfg.SchwabClientID != "" && !l.cfg.SchwabClientSecret.IsSet():
		l.c.add("SCHWAB_CLIENT_SECRET", "required when SCHWAB_CLIENT_ID is set (Schwab connections)")
		return
	case l.cfg.SchwabClientID == "" && l.cfg.SchwabClientSecret.IsSet():
		l.c.add("SCHWAB_CLIENT_ID", "required when SCHWAB_CLIENT_SECRET is set (Schwab connections)")
		return
	case l.cfg.SchwabClientID == "":
		if l.cfg.SchwabRedirectURL != "" {
			l.c.add("SCHWAB_REDIRECT_URL", "set without SCHWAB_CLIENT_ID and SCHWAB_CLIENT_SECRET")
		}
		return
	}
	if strings.ContainsFunc(l.cfg.SchwabClientID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		l.c.add("SCHWAB_CLIENT_ID", "must not contain spaces or control characters")
	}
	if l.cfg.SchwabRedirectURL == "" {
		if l.cfg.PublicURL == "" {
			l.c.add("SCHWAB_REDIRECT_URL", "required when PUBLIC_URL is not set")
			return
		}
		l.cfg.SchwabRedirectURL = l.cfg.PublicURL + SchwabCallbackPath
	}
	u, err := url.Parse(l.cfg.SchwabRedirectURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		l.c.add("SCHWAB_REDIRECT_URL", fmt.Sprintf("invalid URL %q (want e.g. https://trade.example.com%s)", l.cfg.SchwabRedirectURL, SchwabCallbackPath))
	case u.Scheme == "http" && u.Hostname() != "127.0.0.1":
		l.c.add("SCHWAB_REDIRECT_URL", fmt.Sprintf("%q must use https (Schwab allows http only for 127.0.0.1)", l.cfg.SchwabRedirectURL))
	case u.User != nil || u.Fragment != "":
		l.c.add("SCHWAB_REDIRECT_URL", "must not contain credentials or a fragment")
	}
}
