package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tradeexec/tradeexec/internal/testenv"
)

// secretSet finds credential values in text, however the text encodes
// them: long values by any 16-character run of theirs (so a PEM line, a
// JSON-escaped or URL-escaped form, a truncated copy all match), short ones
// (account numbers) as whole words.
type secretSet struct {
	windows map[string]string // 16-character run → what it belongs to
	words   []namedSecret
}

type namedSecret struct {
	name string
	re   *regexp.Regexp
}

const leakWindow = 16

func newSecretSet() *secretSet { return &secretSet{windows: map[string]string{}} }

// add records a credential value under a name.
func (s *secretSet) add(name, v string) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return
	case len(v) < 20:
		if len(v) >= 6 {
			s.words = append(s.words, namedSecret{name, regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(v) + `($|[^A-Za-z0-9])`)})
		}
		return
	}
	for _, form := range []string{v, url.QueryEscape(v)} {
		for _, line := range strings.Split(form, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "-----") {
				continue // PEM armour is no secret
			}
			for i := 0; i+leakWindow <= len(line); i++ {
				s.windows[line[i:i+leakWindow]] = name
			}
		}
	}
}

// addJWT records a signed token by its payload and signature (every JWT of
// an algorithm shares its header).
func (s *secretSet) addJWT(name, token string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		s.add(name, token)
		return
	}
	s.add(name+" (claims)", parts[1])
	s.add(name+" (signature)", parts[2])
}

// find returns what leaked and where, or "" when text is clean.
func (s *secretSet) find(text string) string {
	for i := 0; i+leakWindow <= len(text); i++ {
		if name, ok := s.windows[text[i:i+leakWindow]]; ok {
			return fmt.Sprintf("%s at …%s…", name, excerpt(text, i))
		}
	}
	for _, w := range s.words {
		if loc := w.re.FindStringIndex(text); loc != nil {
			return fmt.Sprintf("%s at …%s…", w.name, excerpt(text, loc[0]))
		}
	}
	return ""
}

func excerpt(text string, at int) string {
	from, to := max(at-60, 0), min(at+80, len(text))
	return text[from:to]
}

// workflowHistories renders every workflow on the task queue, with every
// string and byte field of every event, as stored (encrypted) and
// decrypted (the JSON of activity inputs, results and failures), and
// returns how many workflows there were.
func workflowHistories(t *testing.T, c client.Client, queue string) (string, int) {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	n := 0
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s'", queue), NextPageToken: token, PageSize: 200})
		require.NoError(t, err)
		for _, ex := range resp.Executions {
			n++
			iter := c.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				ev, err := iter.Next()
				require.NoError(t, err)
				// Scan what support staff see through the codec endpoint,
				// not only the ciphertext: no credential in either.
				protoStrings(ev.ProtoReflect(), &b)
				require.NoError(t, testenv.Decrypt(ev))
				protoStrings(ev.ProtoReflect(), &b)
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			return b.String(), n
		}
	}
}

// protoStrings writes every string and bytes value in m, recursively.
func protoStrings(m protoreflect.Message, b *strings.Builder) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				protoValue(fd, l.Get(i), b)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				b.WriteString(k.String())
				b.WriteByte('\n')
				protoValue(fd.MapValue(), mv, b)
				return true
			})
		default:
			protoValue(fd, v, b)
		}
		return true
	})
}

func protoValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, b *strings.Builder) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		b.WriteString(v.String())
	case protoreflect.BytesKind:
		b.Write(v.Bytes())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		protoStrings(v.Message(), b)
	default:
		return
	}
	b.WriteByte('\n')
}

// The scanner itself: every encoding a leak could take is caught.
func TestSecretSetFindsEncodedLeaks(t *testing.T) {
	pemKey := "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oGvbVV2TFbLJoAoGCCqGSM49\nAwEHoUQDQgAEyZ5mPIxuAbMWE0dBBVtCS/9Rl3oBRHUzmnn7HbPt6X0Fl1b6FDX\n-----END EC PRIVATE KEY-----\n"
	kraken := "dGhpcyBpcyBhIHNlY3JldCB+/mFzZTY0IGtleSBmb3IgYSB0ZXN0Lg=="
	s := newSecretSet()
	s.add("coinbase pem", pemKey)
	s.add("kraken secret", kraken)
	s.add("ibkr account", "DU0001001")
	js, _ := json.Marshal(map[string]string{"body": "key " + pemKey})
	cases := []struct {
		text string
		leak bool
	}{
		{string(js), true},
		{"q=" + url.QueryEscape(kraken), true},
		{"truncated " + kraken[:20], true},
		{`{"acct":"DU0001001"}`, true},
		{"order 8DU0001001X", false},
		{"-----BEGIN EC PRIVATE KEY-----", false},
		{"nothing here", false},
	}
	for i, c := range cases {
		require.Equal(t, c.leak, s.find(c.text) != "", "%d: %s", i, c.text)
	}
}
