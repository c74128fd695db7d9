package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientNetwork(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"203.0.113.7", "203.0.113.0/24"},
		{"203.0.113.250", "203.0.113.0/24"},
		{"::ffff:203.0.113.7", "203.0.113.0/24"},
		{"2001:db8:abcd:12::1", "2001:db8:abcd::/48"},
		{"not-an-ip", "not-an-ip"},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Client{IP: tt.ip}.Network(), tt.ip)
	}
}

func TestClientDescribe(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "1.2.3.4 (Firefox on Linux)"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0", "1.2.3.4 (Edge on Windows)"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "1.2.3.4 (Safari on iOS)"},
		{"curl/8.5.0", "1.2.3.4 (curl)"},
		{"<script>alert(1)</script>", "1.2.3.4 (unknown browser)"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Client{IP: "1.2.3.4", UserAgent: tt.ua}.Describe())
	}
}

func TestClientContext(t *testing.T) {
	_, ok := ClientFrom(context.Background())
	require.False(t, ok)
	c, ok := ClientFrom(WithClient(context.Background(), browser))
	require.True(t, ok)
	require.Equal(t, browser, c)
}
