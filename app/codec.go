package app

import (
	"net/url"
	"slices"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/payloadcodec"
)

// CodecOptions configure the Temporal UI's codec endpoint on the API
// (api.TemporalCodecPath): the codec every Temporal client of the process
// encrypts with, and the UI origins allowed to call it from a browser.
type CodecOptions struct {
	// Codec is nil when the API serves no codec endpoint.
	Codec *payloadcodec.Codec
	// UIOrigins are origins (scheme://host:port) of the Temporal UI.
	UIOrigins []string
}

func (o CodecOptions) api() *api.TemporalCodec {
	if o.Codec == nil {
		return nil
	}
	return &api.TemporalCodec{Codec: o.Codec, UIOrigins: slices.Clone(o.UIOrigins)}
}

// UIOrigins returns the browser origins of a Temporal UI base URL. A
// loopback UI is reachable as localhost and as 127.0.0.1, so both count.
func UIOrigins(uiURL string) []string {
	u, err := url.Parse(uiURL)
	if uiURL == "" || err != nil || u.Host == "" {
		return nil
	}
	origins := []string{u.Scheme + "://" + u.Host}
	port := u.Port()
	withPort := func(h string) string {
		if port == "" {
			return u.Scheme + "://" + h
		}
		return u.Scheme + "://" + h + ":" + port
	}
	switch u.Hostname() {
	case "127.0.0.1":
		origins = append(origins, withPort("localhost"))
	case "localhost":
		origins = append(origins, withPort("127.0.0.1"))
	}
	return origins
}

// CodecEndpoint is the URL the Temporal UI sends payloads to, given the
// API's public URL.
func CodecEndpoint(publicURL string) string { return publicURL + api.TemporalCodecPath }
