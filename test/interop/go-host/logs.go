package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	pb "nomadprovider/providerv1"
)

// logEvent is one line of what ctrlplane's Provider.Logs returns: newline-delimited JSON, like its docker provider.
type logEvent struct {
	Timestamp string `json:"ts"`
	Stream    string `json:"stream"`
	Line      string `json:"line"`
}

// logBatchBytes asks the plugin for batches of lines (LogsRequest.max_batch_bytes) instead of one message per line:
// for a large log that is 6-10 times the throughput (bench/logs-throughput.mjs).
const logBatchBytes = 256 << 10

// LogsReader adapts the Logs server stream to the io.ReadCloser that ctrlplane's provider.Provider.Logs returns.
// Close cancels the RPC; a stream error (e.g. NOT_FOUND) is what the next Read returns. Lines arrive in batches
// ("line\n" bytes of one stream) unless the request sets its own max_batch_bytes.
func LogsReader(ctx context.Context, client pb.ProviderServiceClient, req *pb.LogsRequest) io.ReadCloser {
	if req.GetMaxBatchBytes() == 0 {
		req.MaxBatchBytes = logBatchBytes
	}
	ctx, cancel := context.WithCancel(ctx)
	r, w := io.Pipe()
	go func() {
		defer cancel()
		stream, err := client.Logs(ctx, req)
		if err != nil {
			w.CloseWithError(err)
			return
		}
		enc := json.NewEncoder(w)
		for {
			msg, err := stream.Recv()
			if err == io.EOF {
				w.Close()
				return
			}
			if err != nil {
				w.CloseWithError(err)
				return
			}
			ev := logEvent{Stream: streamName(msg.GetStream())}
			if ts := msg.GetTimestamp(); ts != nil {
				ev.Timestamp = ts.AsTime().UTC().Format(time.RFC3339Nano)
			}
			for _, line := range linesOf(msg) {
				ev.Line = line
				if err := enc.Encode(ev); err != nil {
					return // the reader closed the pipe
				}
			}
		}
	}()
	return &cancelOnClose{ReadCloser: r, cancel: cancel}
}

// linesOf is the lines one LogsResponse carries: a batch's "line\n" bytes, or its single line.
func linesOf(msg *pb.LogsResponse) []string {
	batch := msg.GetLines()
	if len(batch) == 0 {
		return []string{msg.GetLine()}
	}
	return strings.Split(strings.TrimSuffix(string(batch), "\n"), "\n")
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	c.cancel()
	return c.ReadCloser.Close()
}

func streamName(s pb.LogStream) string {
	if s == pb.LogStream_LOG_STREAM_STDERR {
		return "stderr"
	}
	return "stdout"
}

// readLogs follows the instance's logs through LogsReader until a line contains marker, then closes the reader
// (cancelling the stream), recording the lines read and how the stream ended.
func readLogs(client pb.ProviderServiceClient, report *Report, instance, marker string, within time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	rc := LogsReader(ctx, client, &pb.LogsRequest{InstanceId: instance, Follow: true})
	scanner := bufio.NewScanner(rc)
	step := Step{RPC: "Logs", Code: "OK"}
	found := false
	for !found && scanner.Scan() {
		report.LogLines = append(report.LogLines, scanner.Text())
		var ev logEvent
		found = json.Unmarshal(scanner.Bytes(), &ev) == nil && marker != "" && strings.Contains(ev.Line, marker)
	}
	rc.Close()
	if err := scanner.Err(); err != nil && !found {
		step.Code, step.Message = codeOf(err)
	} else if !found {
		step.Code, step.Message = "MARKER_NOT_SEEN", "the stream ended before the marker line"
	}
	step.Ms = time.Since(start).Milliseconds()
	report.Steps = append(report.Steps, step)
}
