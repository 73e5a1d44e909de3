package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "nomadprovider/providerv1"
)

// Handshake must match what the plugin expects; a mismatched cookie makes the plugin refuse to start, and a
// different ProtocolVersion makes the host refuse the plugin.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CTRLPLANE_PLUGIN",
	MagicCookieValue: "nomad-provider",
}

// PluginMap names the one plugin the process serves. "provider" is the name passed to Dispense.
var PluginMap = map[string]plugin.Plugin{
	"provider": &ProviderPlugin{},
}

// ProviderPlugin is the host half only: the plugin side is the TypeScript process, so GRPCServer is never used.
type ProviderPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

// GRPCServer is unused by a host.
func (p *ProviderPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

// GRPCClient hands out the generated client on go-plugin's (mTLS) connection to the plugin.
func (p *ProviderPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return pb.NewProviderServiceClient(conn), nil
}
