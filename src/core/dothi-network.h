/* dothi-network.h: utility networks (water, power) as a topology built
 * from the project's line and point layers, and the traces the duty
 * engineer needs: connected, upstream and downstream of the sources,
 * shortest path, and isolation (which valves to close for a break, what
 * loses service). Traces run in memory on CSR adjacency arrays
 * (DESIGN.md §6 Network).
 *
 * A network definition, stored as JSON in the project (table
 * dothi_networks, one row a network):
 * {
 *   "name": "cap_nuoc",
 *   "tolerance": 0.5,                          (snap tolerance, metres: (0, 100])
 *   "edges": [ { "layer": "water_mains", "id_field": "ma_ong",
 *                "length_field": null } ],    (null: the geometry's length)
 *   "nodes": [
 *     { "layer": "water_valves", "role": "valve", "id_field": "ma_van",
 *       "status_field": "trang_thai",         (values read as open / closed / seized:
 *       "open": ["mở", "open"], "closed": ["đóng", "closed"], "seized": ["kẹt", "seized"] },
 *     { "layer": "reservoirs", "role": "source" },
 *     { "layer": "meters", "role": "customer", "id_field": "ma_kh",
 *       "kind_field": "loai" }                (hospital, school… come first)
 *   ],
 *   "parcels": { "layer": "parcels", "service_distance": 30 }   (optional)
 * }
 * Roles: "valve", "hydrant", "source" (reservoir, tank, substation),
 * "customer" (meter, service connection), "switch" (power: like a valve),
 * "junction". "tolerance" defaults to 0.5 m; "open", "closed" and
 * "seized" default to the lists above and are compared folded (case and
 * tone marks ignored); a missing or unknown status reads as open; a valve
 * layer without "status_field" is all open. "service_distance" defaults
 * to 0 (parcels the lost lines touch).
 *
 * Threads: a DothiNetwork is a snapshot of the layers when it was built;
 * once built it is read-only, so traces may run on any threads at once.
 * It does not follow later edits (dothi_network_set_valve_state()
 * included): build it again. */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"
#include "dothi-types.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_NODE_JUNCTION,
  DOTHI_NODE_VALVE,
  DOTHI_NODE_HYDRANT,
  DOTHI_NODE_SOURCE,
  DOTHI_NODE_CUSTOMER,
  DOTHI_NODE_SWITCH,
} DothiNodeRole;

typedef enum {
  DOTHI_VALVE_OPEN,
  DOTHI_VALVE_CLOSED,
  DOTHI_VALVE_SEIZED,   /* cannot be turned: it passes water and cannot isolate */
} DothiValveState;

typedef struct _DothiNetwork DothiNetwork;

/* Stores (replaces) a definition after checking it against the project:
 * layers exist, are lines (edges) or points (nodes) in the project CRS,
 * fields exist, the tolerance is within (0, 100] m, at least one source.
 * Errors name the layer, field or setting (DOTHI_ERROR_INVALID_DATA or
 * NOT_FOUND); nothing changes on error. One transaction. */
gboolean      dothi_network_define (DothiProject *project,
                                    const char   *json,
                                    GError      **error);
/* Names of the defined networks. */
GStrv         dothi_network_list   (DothiProject *project, GError **error);
/* The definition as JSON, or NULL with DOTHI_ERROR_NOT_FOUND. */
char         *dothi_network_dup_definition (DothiProject *project,
                                            const char   *name,
                                            GError      **error);

/* Builds the topology of network @name from the project's layers on a
 * read-only connection of its own (any thread): endpoints snapped within
 * the tolerance become nodes, point features of the node layers within
 * the tolerance of a line become nodes on it and split it, and edges join
 * nodes. A point feature within the tolerance of a line end joins that
 * node; several features on one node: the node takes the valve, else the
 * source, customer, hydrant (find_node() finds each). A feature farther
 * than the tolerance from every line is a node without edges (an
 * OFF_LINE problem). Nodes are numbered features first (definition
 * order, then fid), then bare junctions; edges line by line (fid order,
 * along the line). Edge length: the part's geometric length, or the
 * length field's value shared by the part's share of the line. The
 * result lives in memory (CSR arrays); dothi_network_save() stores it in
 * dothi_network_nodes / dothi_network_edges (role and state as text:
 * "valve", "closed"; layer and fid NULL for bare junctions), replacing
 * the network's rows in one transaction. */
DothiNetwork *dothi_network_build  (const char    *project_path,
                                    const char    *name,
                                    GCancellable  *cancellable,
                                    GError       **error);
void          dothi_network_free   (DothiNetwork  *network);
/* FALSE when a feature of the network's layers was edited (by anyone:
 * the audit trail, QGIS included) since the topology was built: build
 * again (a full build of 140k edges takes a fifth of a second). */
gboolean      dothi_network_is_current (DothiNetwork *network, GError **error);
gboolean      dothi_network_save   (DothiNetwork  *network,
                                    DothiProject  *project,
                                    GError       **error);

guint         dothi_network_get_n_nodes (DothiNetwork *network);
guint         dothi_network_get_n_edges (DothiNetwork *network);

/* A node: its role, the layer and fid of the feature it came from (NULL
 * and 0 for a bare junction of snapped endpoints), its id text, position
 * and, for valves and switches, state. Borrowed strings. */
typedef struct {
  DothiNodeRole   role;
  const char     *layer;
  gint64          fid;
  const char     *id;
  double          x, y;
  DothiValveState state;
  const char     *kind;      /* customers: the kind field's value */
} DothiNetworkNode;

/* An edge: the edge layer and fid of the line it is part of, its end
 * nodes, its length in metres and its share [t0, t1] of the line. */
typedef struct {
  const char *layer;
  gint64      fid;
  guint       node_a;
  guint       node_b;
  double      length;
  double      t0, t1;
} DothiNetworkEdge;

gboolean      dothi_network_get_node (DothiNetwork *network, guint node, DothiNetworkNode *out);
gboolean      dothi_network_get_edge (DothiNetwork *network, guint edge, DothiNetworkEdge *out);
/* The node of feature @fid of @layer, or G_MAXUINT. */
guint         dothi_network_find_node (DothiNetwork *network, const char *layer, gint64 fid);
/* The edge nearest to (@x, @y) within @max_distance metres, and the
 * position along it (0..1); G_MAXUINT when none is that near. */
guint         dothi_network_nearest_edge (DothiNetwork *network, double x, double y,
                                          double max_distance, double *position);

/* Quality problems: disconnected parts (beyond the largest, valves
 * ignored; one problem a part, on its first line), dangling ends (bare
 * junctions of one edge), dangling ends nearer than 5× the tolerance to
 * another line but not snapped (NEAR_MISS instead of DANGLING), lines
 * crossing without a node, node features farther than the tolerance from
 * every line (with that distance). */
typedef enum {
  DOTHI_NETWORK_PROBLEM_DISCONNECTED,
  DOTHI_NETWORK_PROBLEM_DANGLING,
  DOTHI_NETWORK_PROBLEM_NEAR_MISS,
  DOTHI_NETWORK_PROBLEM_CROSSING,
  DOTHI_NETWORK_PROBLEM_OFF_LINE,
} DothiNetworkProblemKind;

typedef struct {
  DothiNetworkProblemKind kind;
  double                  x, y;
  char                   *layer;   /* the feature concerned, or NULL */
  gint64                  fid;
  char                   *message; /* translated, naming the feature */
} DothiNetworkProblem;

void          dothi_network_problem_free (DothiNetworkProblem *problem);
/* DothiNetworkProblem*, in a stable order. */
GPtrArray    *dothi_network_check (DothiNetwork *network, GError **error);

/* The result of a trace: the edges and nodes reached (sorted indexes
 * into the network), and for an isolation the valves to close, the
 * valves that were already closed at the boundary, the seized valves
 * passed, the customer nodes and parcels (fids of the parcel layer) that
 * lose service, critical customers (hospital, school…) first. */
typedef struct {
  GArray *edges;           /* guint */
  GArray *nodes;           /* guint */
  GArray *valves_to_close; /* guint node indexes */
  GArray *valves_closed;   /* guint: already closed, on the boundary */
  GArray *valves_seized;   /* guint: seized valves the isolation had to pass */
  GArray *lost_edges;      /* guint: edges cut off from every source (isolated included) */
  GArray *customers;       /* guint node indexes, critical first */
  GArray *parcels;         /* gint64 fids of the parcel layer */
  double  length;          /* metres of the edges (shortest path: its length) */
} DothiTrace;

void          dothi_trace_free (DothiTrace *trace);

/* Every edge and node connected to @node (closed valves and switches
 * stop it: reached, with the edge to them, but not passed; from a closed
 * one the walk goes nowhere; seized and open ones pass). */
DothiTrace   *dothi_network_trace_connected  (DothiNetwork *network, guint node, GError **error);
/* Flow runs away from the sources along shortest distances (Dijkstra by
 * length from every source, closed valves not passed): an edge flows
 * from its end nearer the sources to the farther (equal: no flow).
 * Upstream of @node: the edges whose flow leads to it; downstream: the
 * edges fed through it (stopping at closed valves). Empty for a node no
 * source reaches. */
DothiTrace   *dothi_network_trace_upstream   (DothiNetwork *network, guint node, GError **error);
DothiTrace   *dothi_network_trace_downstream (DothiNetwork *network, guint node, GError **error);
/* Shortest path by length between two nodes (Dijkstra, binary heap;
 * closed valves are not passed, but may be @from or @to); NULL with
 * DOTHI_ERROR_NOT_FOUND when they are not connected. Its edges and nodes
 * are sorted like any trace's, its length is the path's. */
DothiTrace   *dothi_network_shortest_path    (DothiNetwork *network, guint from, guint to,
                                              GError **error);
/* Isolation of a break on @edge: the smallest set of open, operable
 * valves around the break (already closed valves are honoured, the
 * valves in @seized, node indexes, are treated as stuck open and the
 * next ring is found), the edges isolated and every edge that loses its
 * sources once they are shut, the customers and parcels on them.
 * In detail: the region is walked from the broken edge to the first
 * valves that are not seized; a boundary valve with the region on every
 * side isolates nothing and is left out (it is in @nodes). trace->edges
 * and ->nodes are the region (a source inside it means that source must
 * be stopped too); ->lost_edges the region plus the edges the sources
 * fed before and no longer reach; ->customers the customer nodes inside
 * the region or cut off that way; ->length the region's metres.
 * Plain arrays: about 2 ms on the 140k-edge city. DOTHI_ERROR_NOT_FOUND
 * for an edge or seized node out of range. */
DothiTrace   *dothi_network_isolate          (DothiNetwork *network, guint edge,
                                              const guint *seized, guint n_seized,
                                              GError **error);

/* District metered areas bounded by valves: the zones the pipes fall
 * into when every valve is shut, largest first, each a DothiTrace whose
 * edges, nodes, length and customers are the zone's and whose
 * valves_to_close are its boundary valves. */
GPtrArray    *dothi_network_valve_zones      (DothiNetwork *network, GError **error);

/* Reads the parcels that lose service for an isolation (customers'
 * parcels, or parcels within the definition's service distance of the
 * lost edges) into @trace->parcels, on the network's project: sorted
 * fids, found through the layer's SpatiaLite R-tree (idx_<layer>_geom)
 * and measured exactly. A read-only connection of its own (any thread).
 * DOTHI_ERROR_NOT_FOUND when the definition names no parcel layer. */
gboolean      dothi_network_trace_parcels    (DothiNetwork *network, DothiTrace *trace,
                                              GCancellable *cancellable, GError **error);

/* Closes or opens valve (or switch) feature @fid of @layer of network
 * @name for a work order: one edit action in the audit trail whose label
 * names the valve and @work_order ("Đóng van V-12 — lệnh WO-2026-031";
 * @work_order may be NULL), undoable like any edit; the status field
 * takes the definition's first value for @state. Returns the action id,
 * or 0 with DOTHI_ERROR_INVALID_DATA (not a valve layer of the network,
 * no status field) or NOT_FOUND (no such network or feature). */
gint64        dothi_network_set_valve_state  (DothiProject    *project,
                                              const char      *name,
                                              const char      *layer,
                                              gint64           fid,
                                              DothiValveState  state,
                                              const char      *work_order,
                                              GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiNetwork, dothi_network_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiTrace, dothi_trace_free)

G_END_DECLS
