package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ProviderDiscord names the Discord provider.
const ProviderDiscord = "discord"

// DiscordBaseURL is Discord's origin; tests point DiscordConfig.BaseURL at
// discordfake instead.
const DiscordBaseURL = "https://discord.com"

// DiscordScopes: identify (id, names) and email (copied when verified).
var DiscordScopes = []string{"identify", "email"}

// DiscordConfig configures the Discord provider.
type DiscordConfig struct {
	ClientID     string
	ClientSecret string
	// RedirectURL is PUBLIC_URL + "/auth/discord/callback"; it must be
	// registered in the Discord application.
	RedirectURL string
	// BaseURL defaults to DiscordBaseURL.
	BaseURL    string
	HTTPClient *http.Client
}

// NewDiscord returns the Discord provider: authorization code flow with
// PKCE (S256) at /oauth2/authorize, code exchange at /api/oauth2/token
// (client secret in the Basic header), profile from /api/v10/users/@me.
func NewDiscord(cfg DiscordConfig) *OAuth2Provider {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DiscordBaseURL
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OAuth2Provider{
		ProviderName: ProviderDiscord,
		HTTPClient:   client,
		Config: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       DiscordScopes,
			Endpoint: oauth2.Endpoint{
				AuthURL:   base + "/oauth2/authorize",
				TokenURL:  base + "/api/oauth2/token",
				AuthStyle: oauth2.AuthStyleInHeader,
			},
		},
		Profile: func(ctx context.Context, c *http.Client) (Identity, error) {
			return discordProfile(ctx, c, base+"/api/v10/users/@me")
		},
	}
}

// discordUser is the part of Discord's user object we read.
type discordUser struct {
	ID         string  `json:"id"`
	Username   string  `json:"username"`
	GlobalName *string `json:"global_name"`
	Email      *string `json:"email"`
	Verified   *bool   `json:"verified"`
}

func discordProfile(ctx context.Context, c *http.Client, url string) (Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Identity{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return Identity{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Identity{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Identity{}, fmt.Errorf("discord users/@me: HTTP %d", resp.StatusCode)
	}
	var u discordUser
	if err := json.Unmarshal(body, &u); err != nil {
		return Identity{}, fmt.Errorf("discord users/@me: %w", err)
	}
	if u.ID == "" {
		return Identity{}, fmt.Errorf("discord users/@me: no user id")
	}
	id := Identity{Subject: u.ID, DisplayName: u.Username}
	if u.GlobalName != nil && *u.GlobalName != "" {
		id.DisplayName = *u.GlobalName
	}
	if u.Email != nil {
		id.Email = *u.Email
	}
	id.EmailVerified = u.Verified != nil && *u.Verified
	return id, nil
}
