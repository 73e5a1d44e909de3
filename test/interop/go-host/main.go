// Command go-host is a minimal ctrlplane-style host: it launches the nomad-provider plugin through HashiCorp go-plugin
// (AutoMTLS, gRPC), dispenses a ProviderService client and drives a scenario against it. It doubles as the example of
// how a ctrlplane host wires the plugin in (see ../README.md).
//
// Usage: go-host [-provision req.json] [-logs-marker TEXT] -- node dist/main.js
//
// stdout: one JSON report (the outcome of every step). stderr: the host's own hclog output in JSON, into which
// go-plugin re-levels the plugin's stderr lines. The interop test asserts on both.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "nomadprovider/providerv1"
)

// Step is the outcome of one call, as the interop test reads it.
type Step struct {
	RPC      string          `json:"rpc"`
	Code     string          `json:"code"`
	Message  string          `json:"message,omitempty"`
	Ms       int64           `json:"ms"`
	Response json.RawMessage `json:"response,omitempty"`
}

// Report is everything the host prints on stdout.
type Report struct {
	Network     string   `json:"network"`
	Protocol    string   `json:"protocol"`
	Steps       []Step   `json:"steps"`
	LogLines    []string `json:"logLines"`
	KillMs      int64    `json:"killMs"`
	Exited      bool     `json:"exited"`
	FatalError  string   `json:"fatalError,omitempty"`
	PluginStart int64    `json:"pluginStartMs"`
}

func main() {
	provisionFile := flag.String("provision", "", "protojson ProvisionRequest; empty: skip the lifecycle steps")
	logsMarker := flag.String("logs-marker", "", "read Logs until a line contains this text")
	pluginStderr := flag.String("plugin-stderr", "", "also copy the plugin's raw stderr lines to this file")
	multiplex := flag.Bool("multiplex", false, "be a go-plugin 1.6+ host with GRPCBrokerMultiplex (yamux over one connection)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: go-host [flags] -- <plugin command...>")
		os.Exit(2)
	}
	if *multiplex {
		runMultiplexed(flag.Args())
		return
	}

	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "ctrlplane",
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})

	var rawStderr io.Writer = ioutil.Discard
	if *pluginStderr != "" {
		f, err := os.Create(*pluginStderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		rawStderr = f
	}

	report := &Report{Steps: []Step{}, LogLines: []string{}}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginMap,
		Cmd:              exec.Command(flag.Arg(0), flag.Args()[1:]...),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           logger,
		StartTimeout:     20 * time.Second,
		Stderr:           rawStderr,
	})

	err := run(client, report, *provisionFile, *logsMarker)
	if err != nil {
		report.FatalError = err.Error()
	}

	killStart := time.Now()
	client.Kill()
	report.KillMs = time.Since(killStart).Milliseconds()
	report.Exited = client.Exited()

	out, _ := json.Marshal(report)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
}

func run(client *plugin.Client, report *Report, provisionFile, logsMarker string) error {
	start := time.Now()
	rpcClient, err := client.Client()
	if err != nil {
		return fmt.Errorf("starting the plugin: %w", err)
	}
	report.PluginStart = time.Since(start).Milliseconds()
	if rc := client.ReattachConfig(); rc != nil {
		report.Network = rc.Addr.Network()
		report.Protocol = string(rc.Protocol)
	}
	raw, err := rpcClient.Dispense("provider")
	if err != nil {
		return fmt.Errorf("dispensing %q: %w", "provider", err)
	}
	provider := raw.(pb.ProviderServiceClient)

	call(report, "Info", 10*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.Info(ctx, &pb.InfoRequest{})
	})
	call(report, "Capabilities", 10*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.Capabilities(ctx, &pb.CapabilitiesRequest{})
	})
	call(report, "HealthCheck", 10*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.HealthCheck(ctx, &pb.HealthCheckRequest{})
	})
	if provisionFile == "" {
		return nil
	}
	return lifecycle(provider, report, provisionFile, logsMarker)
}

// lifecycle provisions an instance, waits for it to run, reads its logs and deprovisions it. A step the plugin
// does not implement yet (UNIMPLEMENTED) is recorded and the scenario goes on; Deprovision always runs last.
func lifecycle(provider pb.ProviderServiceClient, report *Report, provisionFile, logsMarker string) error {
	body, err := ioutil.ReadFile(provisionFile)
	if err != nil {
		return err
	}
	req := &pb.ProvisionRequest{}
	if err := protojson.Unmarshal(body, req); err != nil {
		return fmt.Errorf("parsing %s: %w", provisionFile, err)
	}
	instance := req.GetInstanceId()

	// How failures reach a host: a status code (and, for bad input, the field path first in the message).
	call(report, "Status(missing)", 10*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.Status(ctx, &pb.StatusRequest{InstanceId: instance + "-missing"})
	})
	invalid := proto.Clone(req).(*pb.ProvisionRequest)
	invalid.InstanceId = "not a valid id"
	call(report, "Provision(invalid)", 10*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.Provision(ctx, invalid)
	})

	call(report, "Provision", 30*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.Provision(ctx, req)
	})
	waitRunning(provider, report, instance, 20*time.Second)
	readLogs(provider, report, instance, logsMarker, 20*time.Second)
	call(report, "Deprovision", 30*time.Second, func(ctx context.Context) (proto.Message, error) {
		return provider.Deprovision(ctx, &pb.DeprovisionRequest{InstanceId: instance})
	})
	return nil
}

// waitRunning polls Status until the instance runs or the deadline passes; the last answer is recorded.
func waitRunning(provider pb.ProviderServiceClient, report *Report, instance string, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		step := call(report, "Status", 10*time.Second, func(ctx context.Context) (proto.Message, error) {
			return provider.Status(ctx, &pb.StatusRequest{InstanceId: instance})
		})
		running := step.Code == "OK" && json.Valid(step.Response) &&
			statusState(step.Response) == pb.InstanceState_INSTANCE_STATE_RUNNING.String()
		if running || step.Code != "OK" || time.Now().After(deadline) {
			return
		}
		report.Steps = report.Steps[:len(report.Steps)-1]
		time.Sleep(200 * time.Millisecond)
	}
}

func statusState(raw json.RawMessage) string {
	var v struct {
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.Status.State
}

// codeOf names a call's gRPC status the way the proto and other languages spell it (NOT_FOUND, not NotFound).
func codeOf(err error) (string, string) {
	st := status.Convert(err)
	var b strings.Builder
	prev := 'A'
	for _, r := range st.Code().String() {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
		prev = r
	}
	return b.String(), st.Message()
}

// call runs one unary RPC with a deadline and records its outcome.
func call(report *Report, rpc string, timeout time.Duration, fn func(ctx context.Context) (proto.Message, error)) Step {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	resp, err := fn(ctx)
	step := Step{RPC: rpc, Ms: time.Since(start).Milliseconds()}
	step.Code, step.Message = codeOf(err)
	if err == nil {
		step.Response, _ = protojson.MarshalOptions{UseEnumNumbers: false}.Marshal(resp)
	}
	report.Steps = append(report.Steps, step)
	return step
}
