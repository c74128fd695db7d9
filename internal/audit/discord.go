package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

// PostDiscordAlert posts text to a Discord channel webhook (Execute
// Webhook: POST the webhook URL with a JSON body {"content": …}; Discord
// answers 204 No Content, or 200 with ?wait=true). Mentions are disabled,
// so no text in an alert can ping anyone. Content is cut to Discord's
// 2,000 characters.
func PostDiscordAlert(ctx context.Context, hc *http.Client, webhookURL, text string) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	if utf8.RuneCountInString(text) > 2000 {
		text = string([]rune(text)[:1997]) + "..."
	}
	body, err := json.Marshal(map[string]any{"content": text, "allowed_mentions": map[string]any{"parse": []string{}}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("audit: discord webhook: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// The URL holds the webhook's token: never in the error.
		return fmt.Errorf("audit: discord webhook: request failed")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("audit: discord webhook answered %d", resp.StatusCode)
	}
	return nil
}
