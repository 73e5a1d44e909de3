// runMultiplexed is what a go-plugin 1.6+ host with GRPCBrokerMultiplex and AutoMTLS does on the wire, written from
// go-plugin's client.go, grpc_client.go and internal/grpcmux (Debian's go-plugin 1.0.1 library cannot multiplex):
// PLUGIN_MULTIPLEX_GRPC=true, the handshake split on every '|' with a 7th field that must be true, ONE connection to
// the plugin's socket with the real hashicorp/yamux client on it, and every gRPC connection a yamux stream with TLS
// inside. It checks health "plugin", calls Info on two gRPC connections, then GRPCController/Shutdown.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "nomadprovider/providerv1"
)

type MuxReport struct {
	Fields     []string `json:"fields"`
	Steps      []Step   `json:"steps"`
	ExitCode   int      `json:"exitCode"`
	FatalError string   `json:"fatalError,omitempty"`
}

func runMultiplexed(command []string) {
	report := &MuxReport{Steps: []Step{}, ExitCode: -1}
	err := multiplexed(command, report)
	if err != nil {
		report.FatalError = err.Error()
	}
	out, _ := json.Marshal(report)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
}

func hostCertificate() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"HashiCorp"}},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-30 * time.Second),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	keyDer, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDer})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return cert, string(certPEM), err
}

func multiplexed(command []string, report *MuxReport) error {
	hostCert, hostCertPEM, err := hostCertificate()
	if err != nil {
		return err
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = []string{
		"CTRLPLANE_PLUGIN=nomad-provider",
		"PLUGIN_PROTOCOL_VERSIONS=1",
		"PLUGIN_MULTIPLEX_GRPC=true",
		"PLUGIN_CLIENT_CERT=" + hostCertPEM,
		"PATH=" + os.Getenv("PATH"),
		"CP_NOMAD_ADDRESS=" + os.Getenv("CP_NOMAD_ADDRESS"),
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan int, 1)
	defer func() {
		select {
		case code := <-exited:
			report.ExitCode = code
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			report.ExitCode = <-exited
		}
	}()
	lines := bufio.NewReader(stdout)
	line, err := lines.ReadString('\n')
	go func() {
		_ = cmd.Wait()
		exited <- cmd.ProcessState.ExitCode()
	}()
	if err != nil {
		return fmt.Errorf("reading the handshake: %w", err)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	report.Fields = parts
	if len(parts) < 7 {
		return fmt.Errorf("client requested gRPC broker multiplexing but plugin does not support the feature")
	}
	if ok, err := strconv.ParseBool(parts[6]); err != nil || !ok {
		return fmt.Errorf("client requested gRPC broker multiplexing but plugin does not support the feature (%q)", parts[6])
	}
	asn1, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return fmt.Errorf("certificate field: %w", err)
	}
	serverCert, err := x509.ParseCertificate(asn1)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(serverCert)
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{hostCert}, RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}

	conn, err := net.Dial(parts[2], parts[3])
	if err != nil {
		return err
	}
	session, err := yamux.Client(conn, yamux.DefaultConfig())
	if err != nil {
		return err
	}
	dial := func() (*grpc.ClientConn, error) {
		return grpc.Dial("unused",
			grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return session.Open() }),
			grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
			grpc.WithBlock())
	}
	main, err := dial()
	if err != nil {
		return fmt.Errorf("dialing the main gRPC connection over yamux: %w", err)
	}
	defer main.Close()
	second, err := dial()
	if err != nil {
		return fmt.Errorf("dialing a second gRPC connection over yamux: %w", err)
	}
	defer second.Close()

	health := grpc_health_v1.NewHealthClient(main)
	muxCall(report, "Health(plugin)", func(ctx context.Context) (proto.Message, error) {
		// Debian's health stubs predate the protobuf APIv2 interface: report the status as text.
		resp, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "plugin"})
		if err != nil {
			return nil, err
		}
		return &pb.InfoRequest{}, statusUnlessServing(resp.GetStatus())
	})
	muxCall(report, "Info", func(ctx context.Context) (proto.Message, error) {
		return pb.NewProviderServiceClient(main).Info(ctx, &pb.InfoRequest{})
	})
	muxCall(report, "Info(second connection)", func(ctx context.Context) (proto.Message, error) {
		return pb.NewProviderServiceClient(second).Info(ctx, &pb.InfoRequest{})
	})
	muxCall(report, "Shutdown", func(ctx context.Context) (proto.Message, error) {
		out := &emptypb.Empty{}
		return out, main.Invoke(ctx, "/plugin.GRPCController/Shutdown", &emptypb.Empty{}, out)
	})
	return nil
}

func statusUnlessServing(s grpc_health_v1.HealthCheckResponse_ServingStatus) error {
	if s != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %v", s)
	}
	return nil
}

func muxCall(report *MuxReport, rpc string, fn func(ctx context.Context) (proto.Message, error)) {
	report.Steps = append(report.Steps, call(&Report{}, rpc, 10*time.Second, fn))
}
