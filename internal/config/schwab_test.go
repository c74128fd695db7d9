package config

import (
	"errors"
	"strings"
	"testing"
)

const schwabSecret = "schwab-app-secret-0123456789"

func TestSchwabApp(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		wantURL string
		wantErr string // variable named in the error, "" when none
		wantApp bool
	}{
		{name: "not configured", env: nil},
		{name: "default redirect from PUBLIC_URL", env: []string{"SCHWAB_CLIENT_ID", "appkey123", "SCHWAB_CLIENT_SECRET", schwabSecret},
			wantURL: "https://trade.example.com/brokers/schwab/callback", wantApp: true},
		{name: "explicit redirect", env: []string{"SCHWAB_CLIENT_ID", "appkey123", "SCHWAB_CLIENT_SECRET", schwabSecret,
			"SCHWAB_REDIRECT_URL", "https://127.0.0.1:8182/callback"}, wantURL: "https://127.0.0.1:8182/callback", wantApp: true},
		{name: "http on 127.0.0.1", env: []string{"SCHWAB_CLIENT_ID", "appkey123", "SCHWAB_CLIENT_SECRET", schwabSecret,
			"SCHWAB_REDIRECT_URL", "http://127.0.0.1:8080/brokers/schwab/callback"}, wantURL: "http://127.0.0.1:8080/brokers/schwab/callback", wantApp: true},
		{name: "id without secret", env: []string{"SCHWAB_CLIENT_ID", "appkey123"}, wantErr: "SCHWAB_CLIENT_SECRET"},
		{name: "secret without id", env: []string{"SCHWAB_CLIENT_SECRET", schwabSecret}, wantErr: "SCHWAB_CLIENT_ID"},
		{name: "redirect alone", env: []string{"SCHWAB_REDIRECT_URL", "https://x.example/cb"}, wantErr: "SCHWAB_REDIRECT_URL"},
		{name: "plain http elsewhere", env: []string{"SCHWAB_CLIENT_ID", "appkey123", "SCHWAB_CLIENT_SECRET", schwabSecret,
			"SCHWAB_REDIRECT_URL", "http://trade.example.com/cb"}, wantErr: "SCHWAB_REDIRECT_URL"},
		{name: "not a URL", env: []string{"SCHWAB_CLIENT_ID", "appkey123", "SCHWAB_CLIENT_SECRET", schwabSecret,
			"SCHWAB_REDIRECT_URL", "callback"}, wantErr: "SCHWAB_REDIRECT_URL"},
		{name: "spaces in id", env: []string{"SCHWAB_CLIENT_ID", "app key", "SCHWAB_CLIENT_SECRET", schwabSecret}, wantErr: "SCHWAB_CLIENT_ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(envOf(with(productionEnv(), c.env...)), ModeAPI)
			if c.wantErr != "" {
				var errs Errors
				if !errors.As(err, &errs) || !errs.Has(c.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, c.wantErr)
				}
				if strings.Contains(err.Error(), schwabSecret) {
					t.Fatal("the error quotes the app secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.SchwabClientID != ""; got != c.wantApp {
				t.Fatalf("app configured = %v, want %v", got, c.wantApp)
			}
			if cfg.SchwabRedirectURL != c.wantURL {
				t.Errorf("redirect = %q, want %q", cfg.SchwabRedirectURL, c.wantURL)
			}
			if c.wantApp && cfg.SchwabClientSecret.Reveal() != schwabSecret {
				t.Error("secret not kept")
			}
			if s := cfg.String(); strings.Contains(s, schwabSecret) {
				t.Errorf("String() leaks the app secret: %s", s)
			}
		})
	}
}
