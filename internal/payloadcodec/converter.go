package payloadcodec

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// DataConverter is the default data converter with every payload
// encrypted by c. Memos go through it too (SDK flag MemoUserDCEncode);
// search attributes do not (the server indexes them).
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter moves a failure's message and stack trace into its
// encoded attributes, so error text (which may quote an order) is
// encrypted as well; the SDK restores them on the way in.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: c.DataConverter(), EncodeCommonAttributes: true})
}

// Apply makes a client (and every worker built on it) encrypt with c.
//
// It also turns off the SDK's default gzip of every gRPC request: the
// payloads are AES-GCM ciphertext, which does not compress, and the rest of
// a request is a few hundred bytes of protobuf. Gzip cost CPU on both ends
// of every call (5% of the trade path's profile, plus the server's
// decompression) for nothing. Responses are still accepted compressed.
func (c *Codec) Apply(o *client.Options) {
	o.DataConverter = c.DataConverter()
	o.FailureConverter = c.FailureConverter()
	o.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
}
