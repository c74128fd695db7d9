package security

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Issue 13 item 8: a webhook's trade runs to completion with every
// payload of its history encrypted (no signal text, user id or order
// detail in clear — only the search attributes, which the UI searches
// by), and the codec endpoint the Temporal UI calls decrypts it for
// support staff only.
func TestTemporalHistoriesAreEncryptedAndDecodedForStaffOnly(t *testing.T) {
	s := sqliteSuite(t)
	ctx := context.Background()
	env := s.env
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	alertID := "codec-" + hex.EncodeToString(nonce)
	const signalText = "MSFT market buy 3" // the memo's signal text of this alert

	hook := s.newClient().do(http.MethodPost, "/webhooks/tradingview/"+env.Demo.WebhookToken,
		`{"ticker":"MSFT","action":"buy","quantity":3,"type":"market","id":"`+alertID+`"}`)
	require.Equal(t, http.StatusAccepted, hook.Status, hook.Raw)
	tradeID := hook.Body["tradeId"].(string)
	wfID := hook.Body["workflowId"].(string)

	// The workflow still completes (the worker decrypts its own inputs).
	require.NoError(t, env.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, nil))
	var tr schema.Trade
	require.NoError(t, env.DB.Take(&tr, "id = ?", tradeID).Error)
	require.Equal(t, "filled", tr.Status)

	// The raw history, as anyone with frontend access reads it.
	var hist historypb.History
	iter := env.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	require.NotEmpty(t, hist.Events)
	var encrypted, clear int
	var sample []*commonpb.Payload
	require.NoError(t, proxy.VisitPayloads(ctx, &hist, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				if payloadcodec.IsEncrypted(p) {
					encrypted++
					sample = append(sample, p)
				} else {
					clear++
				}
			}
			return ps, nil
		},
	}))
	require.Zero(t, clear, "payloads in clear")
	require.Greater(t, encrypted, 3)

	// The encrypted history replays deterministically under the codec.
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter: testenv.Codec().DataConverter(), FailureConverter: testenv.Codec().FailureConverter()})
	require.NoError(t, err)
	workflows.Register(replayer)
	require.NoError(t, replayer.ReplayWorkflowHistory(nil, &hist))

	// Search attributes stay in clear (the UI's search); everything else
	// is scanned byte for byte. The workflow id names the user (trade/
	// <signal>/<user>) and is public by design, so it is taken out first.
	stripped := proto.Clone(&hist).(*historypb.History)
	for _, ev := range stripped.Events {
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			a.SearchAttributes = nil
		}
		if a := ev.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			a.SearchAttributes = nil
		}
	}
	raw, err := proto.Marshal(stripped)
	require.NoError(t, err)
	raw = bytes.ReplaceAll(raw, []byte(wfID), nil)
	for name, needle := range map[string]string{"alert id": alertID, "user id": env.Demo.UserID, "trade id": tradeID,
		"symbol": "MSFT", "signal text": signalText, "paper account": env.Demo.PaperAccount} {
		require.False(t, bytes.Contains(raw, []byte(needle)), "%s in clear in the history", name)
	}

	// The memo (the signal text) is encrypted as well.
	desc, err := env.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
	require.NoError(t, err)
	memo := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()["signal"]
	require.NotNil(t, memo)
	require.True(t, payloadcodec.IsEncrypted(memo), "memo in clear")
	batch := append([]*commonpb.Payload{memo}, sample...)
	body, err := json.Marshal(&commonpb.Payloads{Payloads: batch})
	require.NoError(t, err)

	decode := func(c *client, b []byte, origin string, more ...opt) resp {
		return c.do(http.MethodPost, api.TemporalCodecPath+"/decode", b,
			append([]opt{header("Content-Type", "application/json"), header("Origin", origin), header("X-Namespace", "default")}, more...)...)
	}

	// Support staff, signed in with the session cookie the UI sends
	// (credentials included), read the signal text.
	sam := s.user(auth.RoleSupport)
	res := decode(sam, body, apptest.TemporalUIOrigin, noBearer())
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Equal(t, apptest.TemporalUIOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	var out commonpb.Payloads
	require.NoError(t, json.Unmarshal([]byte(res.Raw), &out))
	require.Len(t, out.Payloads, len(batch))
	var text string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &text))
	require.Equal(t, signalText, text)
	for _, p := range out.Payloads {
		require.False(t, payloadcodec.IsEncrypted(p))
	}
	// Admins too, by bearer token (scripts, the SDK's remote codec).
	admin := s.user(auth.RoleAdmin)
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: env.URL() + api.TemporalCodecPath,
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+admin.bearer)
			r.Header.Set("X-Forwarded-For", admin.ip) // the session is bound to its client
			r.Header.Set("User-Agent", admin.ua)
			return nil
		},
	})
	viaSDK, err := remote.Decode([]*commonpb.Payload{memo})
	require.NoError(t, err)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(viaSDK[0], &text))
	require.Equal(t, signalText, text)

	// A trader — even the one whose trade it is — gets 403; nobody
	// signed in gets 401; neither sees a payload.
	owner := s.newClient()
	owner.bearer = env.Demo.APIToken
	for _, c := range []struct {
		who    string
		client *client
		status int
	}{{"trader", s.user(auth.RoleTrader), http.StatusForbidden}, {"owner", owner, http.StatusForbidden},
		{"anonymous", s.newClient(), http.StatusUnauthorized}} {
		res := decode(c.client, body, apptest.TemporalUIOrigin)
		require.Equal(t, c.status, res.Status, "%s: %s", c.who, res.Raw)
		require.NotContains(t, res.Raw, signalText, c.who)
		require.NotContains(t, res.Raw, "payloads", c.who)
	}

	// Another deployment's (another key's) payload fails cleanly.
	otherKey := make([]byte, 32)
	_, _ = rand.Read(otherKey)
	other, err := payloadcodec.Parse("1:" + base64.StdEncoding.EncodeToString(otherKey))
	require.NoError(t, err)
	foreign, err := other.DataConverter().ToPayload("foreign " + alertID)
	require.NoError(t, err)
	fb, err := json.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{foreign}})
	require.NoError(t, err)
	res = decode(sam, fb, apptest.TemporalUIOrigin)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, res.Raw)
	require.Equal(t, "codec_failed", res.Body["error"])
	require.NotContains(t, res.Raw, alertID)

	// Encoding (typed input from the UI) is for admins; support reads only.
	plain, err := json.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{out.Payloads[0]}})
	require.NoError(t, err)
	encode := func(c *client) resp {
		return c.do(http.MethodPost, api.TemporalCodecPath+"/encode", plain, header("Content-Type", "application/json"))
	}
	require.Equal(t, http.StatusForbidden, encode(sam).Status)
	enc := encode(admin)
	require.Equal(t, http.StatusOK, enc.Status, enc.Raw)
	require.NotContains(t, enc.Raw, signalText)

	// CORS: the UI's preflight is answered; another origin gets no grant,
	// so a page elsewhere cannot read a staff member's decode.
	pre := s.newClient().do(http.MethodOptions, api.TemporalCodecPath+"/decode", nil,
		header("Origin", apptest.TemporalUIOrigin), header("Access-Control-Request-Method", "POST"),
		header("Access-Control-Request-Headers", "content-type,x-namespace"))
	require.Equal(t, http.StatusNoContent, pre.Status)
	require.Equal(t, apptest.TemporalUIOrigin, pre.Header.Get("Access-Control-Allow-Origin"))
	evil := decode(sam, body, "https://evil.example")
	require.Empty(t, evil.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, evil.Header.Get("Access-Control-Allow-Credentials"))
	// A form post (no JSON content type, so no preflight) is refused.
	form := sam.do(http.MethodPost, api.TemporalCodecPath+"/decode", body, header("Content-Type", "text/plain"), noBearer())
	require.Equal(t, http.StatusUnsupportedMediaType, form.Status, form.Raw)
}
