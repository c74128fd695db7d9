package config

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// SMTP settings (the e-mails of billing and security). SMTP_HOST unset:
// `dev` writes mail to DATA_DIR/mail and logs it; api and worker send no
// mail and say so at startup.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password Secret
	From     string
	TLS      string // starttls (default), tls or none (localhost relay only)
}

// mail reads SMTP_HOST, SMTP_PORT (default 587), SMTP_USERNAME,
// SMTP_PASSWORD, SMTP_TLS and MAIL_FROM.
func (l *loader) mail() {
	c := &l.cfg.SMTP
	c.Host = l.env("SMTP_HOST")
	c.Username = l.env("SMTP_USERNAME")
	c.Password = Secret(l.env("SMTP_PASSWORD"))
	c.From = l.env("MAIL_FROM")
	c.TLS = strings.ToLower(l.env("SMTP_TLS"))
	if c.Host == "" {
		for _, v := range []string{"SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TLS"} {
			if l.env(v) != "" {
				l.c.add(v, "set without SMTP_HOST")
			}
		}
		return
	}
	c.Port = 587
	if raw := l.env("SMTP_PORT"); raw != "" {
		p, err := strconv.Atoi(raw)
		if err != nil || p < 1 || p > 65535 {
			l.c.add("SMTP_PORT", fmt.Sprintf("invalid port %q", raw))
		}
		c.Port = p
	}
	switch c.TLS {
	case "":
		c.TLS = "starttls"
	case "starttls", "tls":
	case "none":
		if !isLoopback(c.Host) {
			l.c.add("SMTP_TLS", "none is allowed only for a relay on localhost (mail would cross the network in clear text)")
		}
	default:
		l.c.add("SMTP_TLS", fmt.Sprintf("unknown mode %q (starttls, tls or none)", c.TLS))
	}
	if c.Username != "" && !c.Password.IsSet() {
		l.c.add("SMTP_PASSWORD", "required when SMTP_USERNAME is set")
	}
	if c.From == "" {
		l.c.add("MAIL_FROM", "required when SMTP_HOST is set (e.g. tradeexec <billing@example.com>)")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		l.c.add("MAIL_FROM", fmt.Sprintf("not an e-mail address: %q", c.From))
	}
}
