// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"context"
	"testing"

	"github.com/trailaudit/trail/internal/s3test"
	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/stream/streamtest"
)

// benchDeliver delivers one batch of 1000 real events (and a checkpoint)
// b.N times and reports events per second.
func benchDeliver(b *testing.B, sink stream.Sink, batch *stream.Batch) {
	b.ResetTimer()
	for range b.N {
		if err := sink.Deliver(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(batch.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkS3Deliver: gzip'd NDJSON objects of 1000 events PUT to
// versitygw on loopback (each retry of the same batch overwrites it).
func BenchmarkS3Deliver(b *testing.B) {
	gw := s3test.Start(b)
	gw.CreateBucket(b, "trail-audit")
	log := streamtest.New(b)
	log.Add("acme", 1000)
	k, _ := stream.LookupKind("s3")
	c, err := k.Create([]byte(`{"endpoint":"` + gw.Endpoint + `","region":"us-east-1","bucket":"trail-audit","access_key_id":"` + gw.KeyID + `","secret_access_key":"` + gw.Secret + `","path_style":true}`))
	if err != nil {
		b.Fatal(err)
	}
	sink, err := k.Open(c.Settings, loopbackEnv())
	if err != nil {
		b.Fatal(err)
	}
	benchDeliver(b, sink, log.Batch("acme", 0, 1000, 1000))
}

// BenchmarkNATSDeliver: 1000 events published to JetStream, each
// acknowledged (the redeliveries are dropped by the stream's dedupe, as a
// retry's would be).
func BenchmarkNATSDeliver(b *testing.B) {
	_, subject := natsStream(b)
	log := streamtest.New(b)
	log.Add("acme", 1000)
	sink, _ := openKind(b, "nats", `{"url":"nats://`+natsAddr+`","subject":"`+subject+`"}`)
	benchDeliver(b, sink, log.Batch("acme", 0, 1000, 1000))
}
