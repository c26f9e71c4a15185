// SPDX-License-Identifier: Apache-2.0

package catalog

// streamTypes are the events Trail records itself when an org's stream
// destinations change (internal/stream): every change to where the log
// goes is in the log.
func streamTypes() []Type {
	stream := []MetaRule{
		required(str("stream", "the stream destination's id")),
		str("name", "the destination's name"),
		str("kind", "webhook, syslog, s3, splunk, datadog or nats"),
	}
	t := func(name, summary, template string, more ...MetaRule) Type {
		return Type{
			Name: name, Category: CategoryAuditLog, TrailOnly: true, Summary: summary,
			Metadata: append(append([]MetaRule{}, stream...), more...), Template: template,
		}
	}
	return []Type{
		t("org.audit_log.stream.create", "Audit log stream added",
			"{actor} added the audit log stream {meta:name|(unnamed)}[ ({meta:kind})][ (filter: {meta:filter})]",
			str("format", "the format events are sent in"),
			str("filter", "the search string that selects the events sent, if any"),
			str("destination", "where events go, without secrets (a URL's host, a bucket)")),
		t("org.audit_log.stream.pause", "Audit log stream paused", "{actor} paused the audit log stream {meta:name|(unnamed)}"),
		t("org.audit_log.stream.resume", "Audit log stream resumed", "{actor} resumed the audit log stream {meta:name|(unnamed)}"),
		t("org.audit_log.stream.replay", "Audit log stream replayed",
			"{actor} replayed the audit log stream {meta:name|(unnamed)} from seq {meta:from_seq|0}",
			integer("from_seq", "the first seq sent again")),
		t("org.audit_log.stream.test", "Audit log stream tested",
			"{actor} sent a test delivery to the audit log stream {meta:name|(unnamed)}[: {meta:error}]",
			boolean("ok", "whether the destination acknowledged it"),
			str("error", "why it failed, if it did")),
		t("org.audit_log.stream.delete", "Audit log stream deleted", "{actor} deleted the audit log stream {meta:name|(unnamed)}"),
		t("org.audit_log.stream.failing", "Audit log stream failing",
			"{actor} could not deliver to the audit log stream {meta:name|(unnamed)} after {meta:failures|several} attempts[: {meta:error}]",
			integer("failures", "consecutive failed deliveries"),
			str("error", "the last failure"),
			integer("delivered_seq", "the highest seq the destination acknowledged; delivery resumes after it")),
		t("org.audit_log.stream.pruned", "Audit log stream skipped pruned events",
			"{actor} moved the audit log stream {meta:name|(unnamed)} on: events {meta:from_seq|?}..{meta:to_seq|?} were pruned before delivery",
			required(integer("from_seq", "the first seq pruned before the stream delivered it")),
			required(integer("to_seq", "the last seq pruned before delivery; delivery continues after it")),
			integer("events", "how many events the stream missed")),
		t("org.audit_log.stream.recover", "Audit log stream recovered",
			"{actor} delivered to the audit log stream {meta:name|(unnamed)} again after {meta:failures|several} failed attempts",
			integer("failures", "the failed deliveries before this success")),
	}
}
