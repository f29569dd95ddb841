// The dashboard every cluster node serves at GET /dashboard (issue 26, first step): one static
// page, built into the binary (no toolchain, nothing loaded from the internet: plain HTML, CSS and
// JavaScript, so it needs no bundler and no npm package at build or run time), that polls the
// node's own GET /v1/cluster and GET /v1/decisions every 2 s and shows the topology (nodes, device
// classes, liveness, digest age, load), the placement (instances and their parallel mode per
// node), demand entering here, and the recent routing decisions with their numbers. A node seen
// before and no longer listed, or whose digest is older than the cluster's down_after, is shown
// down. With security on, the page asks for a key (admin scope or the cluster credential), or takes
// it from a link's fragment (/dashboard#key=..., which the browser never sends), and keeps it in
// the browser's localStorage.
#pragma once

namespace epara::node {

const char* DashboardHtml();

}  // namespace epara::node
