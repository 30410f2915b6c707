/* test-network.c: network definitions, the topology build, its quality
 * check and the traces, on a hand-drawn loop and on EPANET's Net1 with
 * WNTR's valve positions, and valve operations with undo. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-network.h"
#include "dothi-project.h"
#include "dothi-spatialite-store.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* The loop, in metres from (X0, Y0) in EPSG:9218:
 *
 *   D(0,100) ──V3(50,100)── K2(75) ── C(100,100) ──V5(120, closed)── K1(150,100)
 *     │                                  │
 *   V4(0,50)                          K3(100,75)
 *     │                              V2(100,50)
 *   A(0,0) ─────V1(50,0)────────────── B(100,0)
 *     │
 *   S(-50,0) source, its pipe ending 0.36 m short of A (snapped).
 */
#define X0 500000.0
#define Y0 1400000.0

static const char *mains_lines[][3] = {
  /* id, start, end (x y in metres from X0, Y0) */
  { "L1", "0 0", "100 0" },
  { "L2", "100 0", "100 100" },
  { "L3", "100 100", "0 100" },
  { "L4", "0 100", "0 0" },
  { "L5", "-50 0", "-0.3 0.2" },
  { "L6", "100 100", "150 100" },
};

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static char *
coord (const char *xy)
{
  double x, y;
  char buf[2][G_ASCII_DTOSTR_BUF_SIZE];
  char *end;

  x = g_ascii_strtod (xy, &end);
  y = g_ascii_strtod (end, NULL);
  return g_strdup_printf ("[%s, %s]", g_ascii_dtostr (buf[0], sizeof buf[0], X0 + x),
                          g_ascii_dtostr (buf[1], sizeof buf[1], Y0 + y));
}

/* Imports GeoJSON @text as layer @name, its coordinates in EPSG:@crs. */
static void
import_text (Fixture *f, const char *name, const char *text, const char *crs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *file = g_strdup_printf ("%s.geojson", name);
  g_autofree char *path = g_build_filename (f->dir, file, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  import = dothi_import_new (f->project, path);
  dothi_import_set_source_crs (import, crs);
  dothi_import_set_target_name (import, name);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Point features: "x y" in metres from the origin plus properties JSON. */
static void
import_points (Fixture *f, const char *name, const char * const *points)
{
  g_autoptr(GString) text = g_string_new ("{\"type\": \"FeatureCollection\", \"features\": [");

  for (guint i = 0; points[i] != NULL; i += 2)
    {
      g_autofree char *c = coord (points[i]);

      g_string_append_printf (text, "%s{\"type\": \"Feature\", \"properties\": %s, "
                              "\"geometry\": {\"type\": \"Point\", \"coordinates\": %s}}",
                              i > 0 ? ", " : "", points[i + 1], c);
    }
  g_string_append (text, "]}");
  import_text (f, name, text->str, "EPSG:9218");
}

static void
import_lines (Fixture *f, const char *name, const char *lines[][3], guint n)
{
  g_autoptr(GString) text = g_string_new ("{\"type\": \"FeatureCollection\", \"features\": [");

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *a = coord (lines[i][1]);
      g_autofree char *b = coord (lines[i][2]);

      g_string_append_printf (text, "%s{\"type\": \"Feature\", \"properties\": {\"ma_ong\": \"%s\"}, "
                              "\"geometry\": {\"type\": \"LineString\", \"coordinates\": [%s, %s]}}",
                              i > 0 ? ", " : "", lines[i][0], a, b);
    }
  g_string_append (text, "]}");
  import_text (f, name, text->str, "EPSG:9218");
}

static const char *loop_definition =
  "{\"name\": \"cap_nuoc\", \"tolerance\": 0.5,"
  " \"edges\": [{\"layer\": \"mains\", \"id_field\": \"ma_ong\"}],"
  " \"nodes\": ["
  "  {\"layer\": \"valves\", \"role\": \"valve\", \"id_field\": \"ma_van\","
  "   \"status_field\": \"trang_thai\", \"open\": [\"mở\", \"open\"],"
  "   \"closed\": [\"đóng\", \"closed\"], \"seized\": [\"kẹt\"]},"
  "  {\"layer\": \"sources\", \"role\": \"source\", \"id_field\": \"ten\"},"
  "  {\"layer\": \"customers\", \"role\": \"customer\", \"id_field\": \"ma_kh\","
  "   \"kind_field\": \"loai\"}],"
  " \"parcels\": {\"layer\": \"parcels\", \"service_distance\": 10}}";

static void
make_loop (Fixture *f)
{
  static const char * const valves[] = {
    "50 0.2", "{\"ma_van\": \"V1\", \"trang_thai\": \"Mở\"}",
    "100.1 50", "{\"ma_van\": \"V2\", \"trang_thai\": \"mở\"}",
    "50 100", "{\"ma_van\": \"V3\", \"trang_thai\": \"open\"}",
    "0 50", "{\"ma_van\": \"V4\", \"trang_thai\": null}",
    "120 100", "{\"ma_van\": \"V5\", \"trang_thai\": \"ĐÓNG\"}",
    NULL,
  };
  static const char * const sources[] = {
    "-50 0", "{\"ten\": \"NM-1\"}",
    NULL,
  };
  static const char * const customers[] = {
    "150 100", "{\"ma_kh\": \"K1\", \"loai\": \"Bệnh viện\"}",
    "75 100.3", "{\"ma_kh\": \"K2\", \"loai\": \"Nhà dân\"}",
    "100 75", "{\"ma_kh\": \"K3\", \"loai\": \"Trường học\"}",
    NULL,
  };
  /* Parcels: one beside B, one far off. */
  static const char *parcels =
    "{\"type\": \"FeatureCollection\", \"features\": ["
    "{\"type\": \"Feature\", \"properties\": {\"so_thua\": 1}, \"geometry\": {\"type\": \"Polygon\","
    " \"coordinates\": [[[500105, 1399990], [500120, 1399990], [500120, 1400005], [500105, 1400005], [500105, 1399990]]]}},"
    "{\"type\": \"Feature\", \"properties\": {\"so_thua\": 2}, \"geometry\": {\"type\": \"Polygon\","
    " \"coordinates\": [[[500300, 1400300], [500320, 1400300], [500320, 1400320], [500300, 1400320], [500300, 1400300]]]}}"
    "]}";

  import_lines (f, "mains", mains_lines, G_N_ELEMENTS (mains_lines));
  import_points (f, "valves", valves);
  import_points (f, "sources", sources);
  import_points (f, "customers", customers);
  import_text (f, "parcels", parcels, "EPSG:9218");
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "net.dothi", NULL);
  f->project = dothi_project_create (f->path, "EPSG:9218", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static DothiNetwork *
define_and_build (Fixture *f, const char *definition, const char *name)
{
  g_autoptr(GError) error = NULL;
  DothiNetwork *network;

  dothi_network_define (f->project, definition, &error);
  g_assert_no_error (error);
  network = dothi_network_build (f->path, name, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (network);
  return network;
}

static guint
node_of (DothiNetwork *network, const char *layer, gint64 fid)
{
  guint node = dothi_network_find_node (network, layer, fid);

  g_assert_cmpuint (node, !=, G_MAXUINT);
  return node;
}

static guint
edge_near (DothiNetwork *network, double x, double y)
{
  guint edge = dothi_network_nearest_edge (network, X0 + x, Y0 + y, 1.0, NULL);

  g_assert_cmpuint (edge, !=, G_MAXUINT);
  return edge;
}

static gboolean
array_has (GArray *array, guint value)
{
  for (guint i = 0; i < array->len; i++)
    if (g_array_index (array, guint, i) == value)
      return TRUE;
  return FALSE;
}

/* The ids of the nodes in @nodes, in order, joined by spaces. */
static char *
node_ids (DothiNetwork *network, GArray *nodes)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < nodes->len; i++)
    {
      DothiNetworkNode node;

      g_assert_true (dothi_network_get_node (network, g_array_index (nodes, guint, i), &node));
      g_string_append_printf (s, "%s%s", i > 0 ? " " : "", node.id);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gint64
scalar (Fixture *f, const char *sql)
{
  sqlite3 *db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static char *
text_value (Fixture *f, const char *sql)
{
  sqlite3 *db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

/* ---- definitions ---------------------------------------------------------- */

static void
test_define_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *json = NULL;

  make_loop (f);
  names = dothi_network_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), ==, 0);

  g_assert_true (dothi_network_define (f->project, loop_definition, &error));
  g_assert_no_error (error);
  /* Replacing it keeps one row. */
  g_assert_true (dothi_network_define (f->project, loop_definition, &error));
  g_assert_no_error (error);
  g_clear_pointer (&names, g_strfreev);
  names = dothi_network_list (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), ==, 1);
  g_assert_cmpstr (names[0], ==, "cap_nuoc");

  json = dothi_network_dup_definition (f->project, "cap_nuoc", &error);
  g_assert_no_error (error);
  assert_contains (json, "\"mains\"");
  assert_contains (json, "\"trang_thai\"");

  g_assert_null (dothi_network_dup_definition (f->project, "dien", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "dien");
}

typedef struct {
  const char *json;
  int         code;
  const char *needles[3];
} BadDefinition;

static const BadDefinition bad_definitions[] = {
  { "{\"name\": \"n\", \"edges\": [", DOTHI_ERROR_INVALID_DATA, { "JSON" } },
  { "{\"tolerance\": 1, \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“name”" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"ong\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_NOT_FOUND, { "“ong”", "“n”" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"valves\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "edge layer “valves”", "not lines" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"mains\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "node layer “mains”", "not points" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains_vn2000_105\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“mains_vn2000_105”", "EPSG:9210", "EPSG:9218" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\", \"id_field\": \"ma\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_NOT_FOUND, { "“ma”", "“mains”", "id_field" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"valves\", \"role\": \"valve\", \"status_field\": \"tt\"}, {\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_NOT_FOUND, { "“tt”", "“valves”", "status_field" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\", \"length_field\": \"ma_ong\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“ma_ong”", "not a number" } },
  { "{\"name\": \"n\", \"tolerance\": 0, \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“tolerance”", "0 m" } },
  { "{\"name\": \"n\", \"tolerance\": -1, \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“tolerance”", "-1 m" } },
  { "{\"name\": \"n\", \"tolerance\": 1000, \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“tolerance”", "1000 m", "100 m" } },
  { "{\"name\": \"n\", \"tolerance\": \"1\", \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“tolerance”", "number" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"valves\", \"role\": \"valve\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“n”", "no source" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"valves\", \"role\": \"van\"}, {\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "“valves”", "unknown role “van”" } },
  { "{\"name\": \"n\", \"edges\": [], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}]}",
    DOTHI_ERROR_INVALID_DATA, { "no edge layer" } },
  { "{\"name\": \"n\", \"edges\": [{\"layer\": \"mains\"}], \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"}], \"parcels\": {\"layer\": \"valves\"}}",
    DOTHI_ERROR_INVALID_DATA, { "parcel layer “valves”", "not polygons" } },
};

static void
test_define_errors (Fixture *f, gconstpointer data)
{
  static const char *other_zone =
    "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {},"
    " \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[500000, 1400000], [500100, 1400000]]}}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *path = g_build_filename (f->dir, "mains_vn2000_105.geojson", NULL);

  make_loop (f);
  /* A layer kept in another zone (VN-2000 TM-3 105°) by writing it with
   * the store directly is what another program could leave in the file:
   * the import would reproject, so the test edits the registry instead. */
  g_assert_true (g_file_set_contents (path, other_zone, -1, &error));
  import = dothi_import_new (f->project, path);
  dothi_import_set_source_crs (import, "EPSG:9218");
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  {
    sqlite3 *db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
    g_assert_cmpint (sqlite3_exec (db, "UPDATE dothi_layers SET srid = 9210 WHERE name = 'mains_vn2000_105'",
                                   NULL, NULL, NULL), ==, SQLITE_OK);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad_definitions); i++)
    {
      const BadDefinition *bad = &bad_definitions[i];
      g_auto(GStrv) names = NULL;

      g_test_message ("definition %u: %s", i, bad->json);
      g_assert_false (dothi_network_define (f->project, bad->json, &error));
      g_assert_error (error, DOTHI_ERROR, bad->code);
      for (guint k = 0; k < G_N_ELEMENTS (bad->needles) && bad->needles[k]; k++)
        assert_contains (error->message, bad->needles[k]);
      g_clear_error (&error);
      /* Nothing stored. */
      names = dothi_network_list (f->project, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_strv_length (names), ==, 0);
    }
}

/* ---- topology --------------------------------------------------------------- */

static void
test_build_loop (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  DothiNetworkNode node;
  DothiNetworkEdge a = { 0 }, b = { 0 };
  guint v1, source, n_l1 = 0;
  double position;

  make_loop (f);
  network = define_and_build (f, loop_definition, "cap_nuoc");

  /* Nodes: 5 valves, the source, 3 customers (K1 on the end of L6), and
   * the bare corners A, B, C, D. Edges: L1 and L4 cut by one valve, L2
   * and L3 by a valve and a customer, L6 by the closed valve, L5 whole. */
  g_assert_cmpuint (dothi_network_get_n_nodes (network), ==, 13);
  g_assert_cmpuint (dothi_network_get_n_edges (network), ==, 13);

  /* A valve 0.2 m off L1 splits it in the middle; the node keeps the
   * valve's own position. */
  v1 = node_of (network, "valves", 1);
  g_assert_true (dothi_network_get_node (network, v1, &node));
  g_assert_cmpint (node.role, ==, DOTHI_NODE_VALVE);
  g_assert_cmpint (node.state, ==, DOTHI_VALVE_OPEN);
  g_assert_cmpstr (node.id, ==, "V1");
  g_assert_cmpstr (node.layer, ==, "valves");
  g_assert_cmpfloat_with_epsilon (node.x, X0 + 50, 0.01);
  g_assert_cmpfloat_with_epsilon (node.y, Y0 + 0.2, 0.01);
  for (guint e = 0; e < dothi_network_get_n_edges (network); e++)
    {
      DothiNetworkEdge edge;

      g_assert_true (dothi_network_get_edge (network, e, &edge));
      if (g_strcmp0 (edge.layer, "mains") != 0 || edge.fid != 1)
        continue;
      if (n_l1++ == 0)
        a = edge;
      else
        b = edge;
    }
  g_assert_cmpuint (n_l1, ==, 2);
  g_assert_cmpuint (a.node_b, ==, v1);
  g_assert_cmpuint (b.node_a, ==, v1);
  g_assert_cmpfloat_with_epsilon (a.t0, 0, 1e-9);
  g_assert_cmpfloat_with_epsilon (a.t1, 0.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (b.t1, 1, 1e-9);
  g_assert_cmpfloat_with_epsilon (a.length, 50, 0.01);
  g_assert_cmpfloat_with_epsilon (b.length, 50, 0.01);

  /* L5 ends 0.36 m from A, within the tolerance: snapped to the corner
   * where L1 starts; its start is the source. */
  source = node_of (network, "sources", 1);
  {
    guint e = edge_near (network, -25, 0.1);
    DothiNetworkEdge l5;
    DothiNetworkNode corner;

    g_assert_true (dothi_network_get_edge (network, e, &l5));
    g_assert_cmpint (l5.fid, ==, 5);
    g_assert_cmpuint (l5.node_a, ==, source);
    g_assert_cmpuint (l5.node_b, ==, a.node_a);
    g_assert_true (dothi_network_get_node (network, a.node_a, &corner));
    g_assert_cmpint (corner.role, ==, DOTHI_NODE_JUNCTION);
    g_assert_null (corner.layer);
    g_assert_cmpint (corner.fid, ==, 0);
    g_assert_cmpint (corner.id[0], ==, 'N');
  }

  /* States read case- and tone-insensitively; NULL reads as open. */
  g_assert_true (dothi_network_get_node (network, node_of (network, "valves", 5), &node));
  g_assert_cmpint (node.state, ==, DOTHI_VALVE_CLOSED);
  g_assert_true (dothi_network_get_node (network, node_of (network, "valves", 4), &node));
  g_assert_cmpint (node.state, ==, DOTHI_VALVE_OPEN);
  g_assert_true (dothi_network_get_node (network, node_of (network, "customers", 3), &node));
  g_assert_cmpstr (node.kind, ==, "Trường học");

  /* The nearest edge and the position along it; nothing that far. */
  g_assert_cmpuint (dothi_network_nearest_edge (network, X0 + 25, Y0 + 3, 5, &position), ==,
                    edge_near (network, 25, 0));
  g_assert_cmpfloat_with_epsilon (position, 0.5, 1e-6);
  g_assert_cmpuint (dothi_network_nearest_edge (network, X0 + 50, Y0 + 50, 10, NULL), ==, G_MAXUINT);
  g_assert_cmpuint (dothi_network_find_node (network, "valves", 99), ==, G_MAXUINT);
  g_assert_cmpuint (dothi_network_find_node (network, "mains", 1), ==, G_MAXUINT);

  /* Saved, replacing the rows of the network. */
  g_assert_true (dothi_network_save (network, f->project, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_network_save (network, f->project, &error));
  g_assert_no_error (error);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_network_nodes WHERE network = 'cap_nuoc'"), ==, 13);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_network_edges WHERE network = 'cap_nuoc'"), ==, 13);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_network_nodes WHERE role = 'valve' AND state = 'closed'"), ==, 1);
  g_assert_cmpint (scalar (f, "SELECT count(*) FROM dothi_network_nodes WHERE layer IS NULL AND fid IS NULL"), ==, 4);
}

static void
test_check (Fixture *f, gconstpointer data)
{
  static const char *stubs[][3] = {
    { "T1", "0 101.5", "0 130" },    /* 1.5 m above D: a near miss, and a dangling end */
    { "T2", "25 -20", "25 20" },     /* crosses L1 without a node */
  };
  static const char * const hydrants[] = {
    "50 60", "{\"ma\": \"H-1\"}",
    NULL,
  };
  static const char *definition =
    "{\"name\": \"qa\", \"tolerance\": 0.5,"
    " \"edges\": [{\"layer\": \"mains\", \"id_field\": \"ma_ong\"}, {\"layer\": \"stubs\", \"id_field\": \"ma_ong\"}],"
    " \"nodes\": [{\"layer\": \"sources\", \"role\": \"source\"},"
    "  {\"layer\": \"hydrants\", \"role\": \"hydrant\", \"id_field\": \"ma\"}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  guint counts[5] = { 0 };
  DothiNetworkProblem *p;

  make_loop (f);
  import_lines (f, "stubs", stubs, G_N_ELEMENTS (stubs));
  import_points (f, "hydrants", hydrants);
  network = define_and_build (f, definition, "qa");
  problems = dothi_network_check (network, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < problems->len; i++)
    {
      p = g_ptr_array_index (problems, i);
      g_test_message ("%u: %s", p->kind, p->message);
      counts[p->kind]++;
      if (i > 0)
        g_assert_cmpint (((DothiNetworkProblem *) g_ptr_array_index (problems, i - 1))->kind, <=, p->kind);
    }
  /* T1 and T2 each a part of their own; T1's top, T2's two ends and L6's
   * end (no customer layer here) dangle; T1's foot misses D; T2 crosses
   * L1; the hydrant is 40 m from L3, its nearest line. */
  g_assert_cmpuint (counts[DOTHI_NETWORK_PROBLEM_DISCONNECTED], ==, 2);
  g_assert_cmpuint (counts[DOTHI_NETWORK_PROBLEM_DANGLING], ==, 4);
  g_assert_cmpuint (counts[DOTHI_NETWORK_PROBLEM_NEAR_MISS], ==, 1);
  g_assert_cmpuint (counts[DOTHI_NETWORK_PROBLEM_CROSSING], ==, 1);
  g_assert_cmpuint (counts[DOTHI_NETWORK_PROBLEM_OFF_LINE], ==, 1);

  p = g_ptr_array_index (problems, 0);
  g_assert_cmpstr (p->layer, ==, "stubs");
  assert_contains (p->message, "T1 (stubs 1)");
  for (guint i = 0; i < problems->len; i++)
    {
      p = g_ptr_array_index (problems, i);
      if (p->kind == DOTHI_NETWORK_PROBLEM_NEAR_MISS)
        {
          assert_contains (p->message, "T1 (stubs 1) ends 1.50 m from line L3 (mains 3)");
          g_assert_cmpfloat_with_epsilon (p->y, Y0 + 101.5, 0.01);
        }
      else if (p->kind == DOTHI_NETWORK_PROBLEM_CROSSING)
        {
          assert_contains (p->message, "L1 (mains 1)");
          assert_contains (p->message, "T2 (stubs 2)");
          g_assert_cmpfloat_with_epsilon (p->x, X0 + 25, 0.01);
          g_assert_cmpfloat_with_epsilon (p->y, Y0, 0.01);
        }
      else if (p->kind == DOTHI_NETWORK_PROBLEM_OFF_LINE)
        {
          g_assert_cmpstr (p->message, ==, "Hydrant H-1 (hydrants 1) is 40.0 m from every line of the network");
          g_assert_cmpstr (p->layer, ==, "hydrants");
          g_assert_cmpint (p->fid, ==, 1);
        }
    }
}

/* ---- traces ------------------------------------------------------------------ */

static void
test_connected_and_paths (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  g_autoptr(DothiTrace) connected = NULL;
  g_autoptr(DothiTrace) path = NULL;
  g_autoptr(DothiTrace) up = NULL;
  g_autoptr(DothiTrace) down = NULL;
  guint source, v5, k1, k3, c_v5, v5_k1;

  make_loop (f);
  network = define_and_build (f, loop_definition, "cap_nuoc");
  source = node_of (network, "sources", 1);
  v5 = node_of (network, "valves", 5);
  k1 = node_of (network, "customers", 1);
  k3 = node_of (network, "customers", 3);
  c_v5 = edge_near (network, 110, 100);
  v5_k1 = edge_near (network, 140, 100);

  /* The closed valve V5 is reached but not passed. */
  connected = dothi_network_trace_connected (network, source, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (connected->nodes->len, ==, 12);
  g_assert_cmpuint (connected->edges->len, ==, 12);
  g_assert_true (array_has (connected->nodes, v5));
  g_assert_false (array_has (connected->nodes, k1));
  g_assert_true (array_has (connected->edges, c_v5));
  g_assert_false (array_has (connected->edges, v5_k1));
  for (guint i = 1; i < connected->edges->len; i++)
    g_assert_cmpuint (g_array_index (connected->edges, guint, i - 1), <, g_array_index (connected->edges, guint, i));
  g_clear_pointer (&connected, dothi_trace_free);
  /* From behind it: only K1's side. */
  connected = dothi_network_trace_connected (network, k1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (connected->edges->len, ==, 1);
  g_assert_cmpuint (connected->nodes->len, ==, 2);

  /* S → A → V1 → B → V2 → K3: 49.70 + 100 + 75 m, not round by D. */
  path = dothi_network_shortest_path (network, source, k3, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (path->length, hypot (49.7, 0.2) + 175, 0.01);
  g_assert_cmpuint (path->edges->len, ==, 5);
  g_assert_cmpuint (path->nodes->len, ==, 6);
  g_assert_true (array_has (path->nodes, node_of (network, "valves", 1)));
  g_assert_null (dothi_network_shortest_path (network, source, k1, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "NM-1");
  assert_contains (error->message, "K1");
  g_clear_error (&error);
  g_assert_null (dothi_network_shortest_path (network, source, 999, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* K3 at 224.70 m is fed along L1 and L2; C (at 249.70 m) is fed from
   * both K3 (25 m on) and K2, which flows away from C towards V3 as
   * D is reached first from A by L4 (149.70 m to D, 199.70 to V3). */
  up = dothi_network_trace_upstream (network, k3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (up->edges->len, ==, 5);
  g_assert_cmpfloat_with_epsilon (up->length, path->length, 0.01);
  g_assert_true (array_has (up->nodes, source));
  down = dothi_network_trace_downstream (network, k3, &error);
  g_assert_no_error (error);
  /* K3 → C, then C → V5 (closed: it stops there) and C → K2 → (no: K2
   * at 274.70 from C equals 274.70 from D → V3 → K2; tie, no flow). */
  g_assert_true (array_has (down->edges, edge_near (network, 100, 90)));
  g_assert_true (array_has (down->edges, c_v5));
  g_assert_false (array_has (down->edges, v5_k1));
  g_assert_false (array_has (down->nodes, source));
}

static void
test_isolate_loop (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  g_autoptr(DothiTrace) trace = NULL;
  g_autofree char *ids = NULL;
  guint broken, v2;

  make_loop (f);
  network = define_and_build (f, loop_definition, "cap_nuoc");

  /* A break between B and V2: shut V1 and V2, the two valves either side;
   * the rest of the loop is still fed round by V4 and D. */
  broken = edge_near (network, 100, 25);
  trace = dothi_network_isolate (network, broken, NULL, 0, &error);
  g_assert_no_error (error);
  ids = node_ids (network, trace->valves_to_close);
  g_assert_cmpstr (ids, ==, "V1 V2");
  g_assert_cmpuint (trace->valves_closed->len, ==, 0);
  g_assert_cmpuint (trace->valves_seized->len, ==, 0);
  g_assert_cmpuint (trace->edges->len, ==, 2);
  g_assert_cmpuint (trace->lost_edges->len, ==, 2);
  g_assert_cmpuint (trace->customers->len, ==, 0);
  g_assert_cmpfloat_with_epsilon (trace->length, 100, 0.01);
  /* The parcel 5 m from B, within the service distance of 10 m. */
  g_assert_true (dothi_network_trace_parcels (network, trace, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (trace->parcels->len, ==, 1);
  g_assert_cmpint (g_array_index (trace->parcels, gint64, 0), ==, 1);
  g_clear_pointer (&trace, dothi_trace_free);
  g_clear_pointer (&ids, g_free);

  /* V2 seized: the next ring is V1 and V3; V5 was shut already; K3 (a
   * school) and K2 lose water, the school first. */
  v2 = node_of (network, "valves", 2);
  trace = dothi_network_isolate (network, broken, &v2, 1, &error);
  g_assert_no_error (error);
  ids = node_ids (network, trace->valves_to_close);
  g_assert_cmpstr (ids, ==, "V1 V3");
  g_clear_pointer (&ids, g_free);
  ids = node_ids (network, trace->valves_closed);
  g_assert_cmpstr (ids, ==, "V5");
  g_clear_pointer (&ids, g_free);
  ids = node_ids (network, trace->valves_seized);
  g_assert_cmpstr (ids, ==, "V2");
  g_clear_pointer (&ids, g_free);
  ids = node_ids (network, trace->customers);
  g_assert_cmpstr (ids, ==, "K3 K2");
  g_assert_cmpuint (trace->edges->len, ==, 7);
  /* V5–K1 had no water before: it is not lost now. */
  g_assert_cmpuint (trace->lost_edges->len, ==, 7);
  g_assert_false (array_has (trace->lost_edges, edge_near (network, 140, 100)));
  g_clear_pointer (&trace, dothi_trace_free);

  g_assert_null (dothi_network_isolate (network, 999, NULL, 0, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
}

/* EPANET's Net1 (US EPA) with the three valves of WNTR's
 * Net1_valve_data.geojson. The drawing, in the .inp's coordinates:
 *
 *   9 ═pump═ 10 ──p10── 11 ──────p11────── 12 ──────p12────── 13
 *                        │VB (32.1,67.6)    │  ║p110 VC (52.7,86.3) ─ tank 2 (50,90)
 *                      p111              p112                p113
 *                        │                  │                  │
 *                       21 ──────p21────── 22 ──p22── VA ──── 23
 *                        │                  │     (56.5,41.5)
 *                      p121              p122
 *                        │                  │
 *                       31 ──────p31────── 32
 *
 * With a 3 m tolerance each valve falls on its nearest pipe: VA 1.5 m
 * above p22, VB 2.1 m beside p111 (2.4 m from p11, 3.2 m from junction
 * 11), VC 2.7 m beside p110, 3.7 m below the tank. Every loop of the
 * grid has at most one valve, so a valve alone cuts nothing: VA and VB
 * have the same region on both sides for any break in the grid. Only VC
 * separates something, the tank's lead. Hand-checked answers:
 *  - a break on p21: close VC only (so the tank does not drain into the
 *    break); everything but the tank lead is isolated, all 9 junctions
 *    lose water, and reservoir 9 lies inside the region: the pump must
 *    stop, which a valve list cannot say;
 *  - a break on the tank lead (between tank 2 and VC): close VC; only
 *    that piece is lost and no junction goes dry, as reservoir 9 feeds
 *    the grid through pump 9;
 *  - the same with VC seized: no valve can isolate it, VA and VB stay
 *    open as they are inside, and the whole network is lost. */
static void
test_net1_isolation (Fixture *f, gconstpointer data)
{
  static const char *definition =
    "{\"name\": \"net1\", \"tolerance\": 3,"
    " \"edges\": [{\"layer\": \"pipes\", \"id_field\": \"id\", \"length_field\": \"length_m\"},"
    "             {\"layer\": \"pumps\", \"id_field\": \"id\"}],"
    " \"nodes\": [{\"layer\": \"net1_valves\", \"role\": \"valve\"},"
    "            {\"layer\": \"reservoirs\", \"role\": \"source\", \"id_field\": \"id\"},"
    "            {\"layer\": \"tanks\", \"role\": \"source\", \"id_field\": \"id\"},"
    "            {\"layer\": \"junctions\", \"role\": \"customer\", \"id_field\": \"id\"}]}";
  g_autofree char *inp = dothi_test_shared_path ("wntr/Net1.inp");
  g_autofree char *valves = dothi_test_shared_path ("wntr/Net1_valve_data.geojson");
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  g_autoptr(DothiTrace) trace = NULL;
  g_autoptr(DothiTrace) path = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *ids = NULL;
  DothiNetworkNode node;
  guint va, vb, vc, reservoir, tank, p21, lead;

  if (inp == NULL || valves == NULL)
    return;
  /* The .inp has no CRS; the valve file's points are in the same drawing
   * units although GeoJSON implies EPSG:4326, so both are read as
   * EPSG:9218 metres as tests/test-epanet.c does. */
  import = dothi_import_new (f->project, inp);
  dothi_import_set_source_crs (import, "EPSG:9218");
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&import);
  import = dothi_import_new (f->project, valves);
  dothi_import_set_source_crs (import, "EPSG:9218");
  dothi_import_set_target_name (import, "net1_valves");
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  network = define_and_build (f, definition, "net1");
  /* 12 pipes, 3 of them split by a valve, and the pump; 9 junctions,
   * the reservoir, the tank and 3 valves. */
  g_assert_cmpuint (dothi_network_get_n_edges (network), ==, 16);
  g_assert_cmpuint (dothi_network_get_n_nodes (network), ==, 14);
  problems = dothi_network_check (network, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 0);

  va = node_of (network, "net1_valves", 1);
  vb = node_of (network, "net1_valves", 2);
  vc = node_of (network, "net1_valves", 3);
  reservoir = node_of (network, "reservoirs", 1);
  tank = node_of (network, "tanks", 1);
  g_assert_true (dothi_network_get_node (network, tank, &node));
  g_assert_cmpstr (node.id, ==, "2");
  g_assert_cmpuint (dothi_network_nearest_edge (network, 56.5, 41.5, 3, NULL), !=, G_MAXUINT);
  (void) va;
  (void) vb;

  /* Break on p21. */
  p21 = dothi_network_nearest_edge (network, 40, 40, 1, NULL);
  g_assert_cmpuint (p21, !=, G_MAXUINT);
  trace = dothi_network_isolate (network, p21, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (trace->valves_to_close->len, ==, 1);
  g_assert_cmpuint (g_array_index (trace->valves_to_close, guint, 0), ==, vc);
  g_assert_cmpuint (trace->valves_closed->len, ==, 0);
  g_assert_cmpuint (trace->edges->len, ==, 15);
  g_assert_cmpuint (trace->lost_edges->len, ==, 15);
  g_assert_true (array_has (trace->nodes, reservoir));
  g_assert_false (array_has (trace->nodes, tank));
  ids = node_ids (network, trace->customers);
  g_assert_cmpstr (ids, ==, "10 11 12 13 21 22 23 31 32");
  g_clear_pointer (&ids, g_free);
  g_clear_pointer (&trace, dothi_trace_free);

  /* Break on the tank lead. */
  lead = dothi_network_nearest_edge (network, 50, 88, 1, NULL);
  g_assert_cmpuint (lead, !=, G_MAXUINT);
  trace = dothi_network_isolate (network, lead, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (trace->valves_to_close->len, ==, 1);
  g_assert_cmpuint (g_array_index (trace->valves_to_close, guint, 0), ==, vc);
  g_assert_cmpuint (trace->lost_edges->len, ==, 1);
  g_assert_cmpuint (g_array_index (trace->lost_edges, guint, 0), ==, lead);
  g_assert_cmpuint (trace->customers->len, ==, 0);
  /* 3.7 m of p110's 200 ft (60.96 m) drawn 20 units long. */
  g_assert_cmpfloat_with_epsilon (trace->length, 60.96 * 3.7 / 20, 0.01);
  g_clear_pointer (&trace, dothi_trace_free);

  /* ... with VC seized. */
  trace = dothi_network_isolate (network, lead, &vc, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (trace->valves_to_close->len, ==, 0);
  g_assert_cmpuint (trace->valves_seized->len, ==, 1);
  g_assert_cmpuint (trace->lost_edges->len, ==, 16);
  g_assert_cmpuint (trace->customers->len, ==, 9);

  /* Reservoir 9 to junction 32: the 10-unit pump, then p10 and three
   * 5280 ft pipes either way round (10530 + 3 × 5280 ft). */
  path = dothi_network_shortest_path (network, reservoir, node_of (network, "junctions", 9), &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (path->length, 10 + (10530 + 3 * 5280) * 0.3048, 0.01);
}

static void
test_valve_state (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  g_autofree char *label = NULL;
  g_autofree char *value = NULL;
  DothiNetworkNode node;
  gint64 action;

  make_loop (f);
  network = define_and_build (f, loop_definition, "cap_nuoc");
  g_clear_pointer (&network, dothi_network_free);

  action = dothi_network_set_valve_state (f->project, "cap_nuoc", "valves", 1, DOTHI_VALVE_CLOSED,
                                          "WO-2026-031", &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Close valve V1 — work order WO-2026-031");
  value = text_value (f, "SELECT trang_thai FROM valves WHERE fid = 1");
  g_assert_cmpstr (value, ==, "đóng");
  g_clear_pointer (&value, g_free);

  network = dothi_network_build (f->path, "cap_nuoc", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_network_get_node (network, node_of (network, "valves", 1), &node));
  g_assert_cmpint (node.state, ==, DOTHI_VALVE_CLOSED);
  g_assert_true (dothi_network_is_current (network, &error));
  g_assert_no_error (error);

  /* Undo edits a valve: the topology built before is out of date. */
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), >, 0);
  g_assert_no_error (error);
  g_assert_false (dothi_network_is_current (network, &error));
  g_assert_no_error (error);
  g_clear_pointer (&network, dothi_network_free);
  g_assert_cmpint (dothi_edit_redo_sync (f->project, NULL, &error), >, 0);
  g_assert_no_error (error);

  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), >, 0);
  g_assert_no_error (error);
  value = text_value (f, "SELECT trang_thai FROM valves WHERE fid = 1");
  g_assert_cmpstr (value, ==, "Mở");

  /* Not a valve layer, a missing feature: refused, nothing recorded. */
  g_assert_cmpint (dothi_network_set_valve_state (f->project, "cap_nuoc", "customers", 1,
                                                  DOTHI_VALVE_CLOSED, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“customers”");
  g_clear_error (&error);
  g_assert_cmpint (dothi_network_set_valve_state (f->project, "cap_nuoc", "valves", 77,
                                                  DOTHI_VALVE_CLOSED, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "77");
  g_clear_error (&error);
  g_clear_pointer (&label, g_free);
  label = dothi_edit_dup_redo_label (f->project);
  g_assert_cmpstr (label, ==, "Close valve V1 — work order WO-2026-031");
}

static void
add (const char *path, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  add ("/network/define/roundtrip", test_define_roundtrip);
  add ("/network/define/errors", test_define_errors);
  add ("/network/build/loop", test_build_loop);
  add ("/network/check", test_check);
  add ("/network/trace/connected-and-paths", test_connected_and_paths);
  add ("/network/trace/isolate-loop", test_isolate_loop);
  add ("/network/trace/net1-isolation", test_net1_isolation);
  add ("/network/valve-state", test_valve_state);
  return g_test_run ();
}
