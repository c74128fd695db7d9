package config

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	const hint = " (comma-separated IPs or CIDRs of your load balancers, e.g. 10.0.0.0/24,192.0.2.7)"
	tests := []struct {
		name    string
		raw     string
		want    []string
		wantErr string // the TRUSTED_PROXIES line of the error
	}{
		{"default: trust none", "", nil, ""},
		{"one IP", "10.0.0.7", []string{"10.0.0.7"}, ""},
		{"list with spaces and a trailing comma", " 10.0.0.0/24 , 192.0.2.7,2001:db8::/32, ", []string{"10.0.0.0/24", "192.0.2.7", "2001:db8::/32"}, ""},
		{"IPv6 address", "2001:db8::1", []string{"2001:db8::1"}, ""},
		{"IPv4-mapped IPv6 unmapped", "::ffff:10.0.0.7", []string{"10.0.0.7"}, ""},
		{"duplicates dropped", "10.0.0.7,10.0.0.7", []string{"10.0.0.7"}, ""},
		{"hostname", "10.0.0.7,lb.internal", nil,
			`config: TRUSTED_PROXIES: entry "lb.internal": not an IP address or CIDR` + hint},
		{"bad CIDR", "10.0.0.0/33", nil,
			`config: TRUSTED_PROXIES: entry "10.0.0.0/33": not an IP address or CIDR` + hint},
		{"host bits set", "10.0.0.5/24", nil,
			`config: TRUSTED_PROXIES: entry "10.0.0.5/24": has host bits set (did you mean 10.0.0.0/24?)` + hint},
		{"everyone v4", "0.0.0.0/0", nil,
			`config: TRUSTED_PROXIES: entry "0.0.0.0/0": trusts every address, so any client could choose its IP (name your load balancers)` + hint},
		{"everyone v6", "10.0.0.1,::/0", nil,
			`config: TRUSTED_PROXIES: entry "::/0": trusts every address, so any client could choose its IP (name your load balancers)` + hint},
		{"zone", "fe80::1%eth0", nil,
			`config: TRUSTED_PROXIES: entry "fe80::1%eth0": IPv6 zones are not supported` + hint},
		{"only commas", ",,", nil, `config: TRUSTED_PROXIES: no entry` + hint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := productionEnv()
			if tt.raw != "" {
				env = with(env, "TRUSTED_PROXIES", tt.raw)
			}
			cfg, err := Load(envOf(env), ModeAPI)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("TRUSTED_PROXIES=%q accepted", tt.raw)
				}
				if !slices.Contains(strings.Split(err.Error(), "\n"), tt.wantErr) {
					t.Errorf("error:\n%v\nwant the line:\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.TrustedProxies, tt.want) {
				t.Errorf("TrustedProxies = %q, want %q", cfg.TrustedProxies, tt.want)
			}
			for _, p := range cfg.TrustedProxies { // the forms gin's SetTrustedProxies parses
				if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
					t.Errorf("%q parses neither as a CIDR nor as an IP", p)
				}
			}
		})
	}
}
