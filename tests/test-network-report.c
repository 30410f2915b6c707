/* test-network-report.c: what an isolation gives the crew, on a tiny
 * water network: the CSV and GeoJSON exports read back, and the printed
 * work order read with pdftotext. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-network-report.h"
#include "dothi-project.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <ogr_api.h>
#include <string.h>

/* The network lies in Buôn Ma Thuột, in EPSG:9218. */
#define OX 450000.0
#define OY 1400000.0

/* A source at 0, a main east to 400 m with a branch north at 200 m:
 *
 *                      E (200,100)
 *                      |  V4 (closed)
 *   S --V1-- A --K3-V2-- B --V3-K1-- C --V5(seized)-K2-- D
 *   0   50  100  120 150 200 250 270 300 350        380  400
 *
 * A break between V2 and B closes V2 and V3 (V4 is already shut) and
 * leaves the hospital K1 and the house K2 without water. */
typedef struct {
  char         *dir;
  char         *path;
  DothiNetwork *network;
  DothiTrace   *trace;
  guint         break_edge;
} Fixture;

static char *
feature_collection (const char *name, const char *features)
{
  return g_strdup_printf ("{\"type\": \"FeatureCollection\", \"name\": \"%s\","
                          " \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:9218\"}},"
                          " \"features\": [%s]}", name, features);
}

static char *
line (const char *id, double x0, double y0, double x1, double y1)
{
  return g_strdup_printf ("{\"type\": \"Feature\", \"properties\": {\"ma_ong\": \"%s\","
                          " \"duong_kinh_mm\": 200}, \"geometry\": {\"type\": \"LineString\","
                          " \"coordinates\": [[%.1f, %.1f], [%.1f, %.1f]]}}",
                          id, x0 + OX, y0 + OY, x1 + OX, y1 + OY);
}

static char *
point (const char *properties, double x, double y)
{
  return g_strdup_printf ("{\"type\": \"Feature\", \"properties\": {%s},"
                          " \"geometry\": {\"type\": \"Point\", \"coordinates\": [%.1f, %.1f]}}",
                          properties, x + OX, y + OY);
}

static void
import_json (DothiProject *project, const char *dir, const char *name, const char *json)
{
  g_autofree char *file = g_strdup_printf ("%s.geojson", name);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;

  g_file_set_contents (path, json, -1, &error);
  g_assert_no_error (error);
  import = dothi_import_new (project, path);
  dothi_import_set_target_name (import, name);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  DothiProject *project;
  g_autofree char *l1 = line ("O1", 0, 0, 100, 0);
  g_autofree char *l2 = line ("O2", 100, 0, 200, 0);
  g_autofree char *l3 = line ("O3", 200, 0, 300, 0);
  g_autofree char *l4 = line ("O4", 300, 0, 400, 0);
  g_autofree char *l5 = line ("O5", 200, 0, 200, 100);
  g_autofree char *lines = g_strjoin (",", l1, l2, l3, l4, l5, NULL);
  g_autofree char *v1 = point ("\"ma_van\": \"V1\", \"trang_thai\": \"mở\", \"duong_kinh_mm\": 200", 50, 0);
  g_autofree char *v2 = point ("\"ma_van\": \"V2\", \"trang_thai\": \"mở\", \"duong_kinh_mm\": 200", 150, 0);
  g_autofree char *v3 = point ("\"ma_van\": \"V3\", \"trang_thai\": \"mở\", \"duong_kinh_mm\": 150", 250, 0);
  g_autofree char *v4 = point ("\"ma_van\": \"V4\", \"trang_thai\": \"đóng\", \"duong_kinh_mm\": 100", 200, 50);
  g_autofree char *v5 = point ("\"ma_van\": \"V5\", \"trang_thai\": \"kẹt\", \"duong_kinh_mm\": 150", 350, 0);
  g_autofree char *valves = g_strjoin (",", v1, v2, v3, v4, v5, NULL);
  g_autofree char *k1 = point ("\"ma_kh\": \"KH-001\", \"loai\": \"bệnh viện\"", 270, 0);
  g_autofree char *k2 = point ("\"ma_kh\": \"KH-002\", \"loai\": \"hộ gia đình\"", 380, 0);
  g_autofree char *k3 = point ("\"ma_kh\": \"KH-003\", \"loai\": \"hộ gia đình\"", 120, 0);
  g_autofree char *customers = g_strjoin (",", k1, k2, k3, NULL);
  g_autofree char *s = point ("\"ten\": \"Nhà máy nước\"", 0, 0);
  g_autofree char *json = NULL;
  double position;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "mang.dothi", NULL);
  project = dothi_project_create (f->path, "EPSG:9218", &error);
  g_assert_no_error (error);

  json = feature_collection ("ong", lines);
  import_json (project, f->dir, "ong", json);
  g_free (json);
  json = feature_collection ("van", valves);
  import_json (project, f->dir, "van", json);
  g_free (json);
  json = feature_collection ("khach_hang", customers);
  import_json (project, f->dir, "khach_hang", json);
  g_free (json);
  json = feature_collection ("nguon", s);
  import_json (project, f->dir, "nguon", json);

  dothi_network_define (project,
                        "{\"name\": \"cap_nuoc\", \"tolerance\": 0.5,"
                        " \"edges\": [{\"layer\": \"ong\", \"id_field\": \"ma_ong\", \"length_field\": null}],"
                        " \"nodes\": ["
                        "  {\"layer\": \"van\", \"role\": \"valve\", \"id_field\": \"ma_van\","
                        "   \"status_field\": \"trang_thai\", \"open\": [\"mở\"], \"closed\": [\"đóng\"],"
                        "   \"seized\": [\"kẹt\"]},"
                        "  {\"layer\": \"nguon\", \"role\": \"source\"},"
                        "  {\"layer\": \"khach_hang\", \"role\": \"customer\", \"id_field\": \"ma_kh\","
                        "   \"kind_field\": \"loai\"}]}",
                        &error);
  g_assert_no_error (error);
  dothi_project_checkpoint (project, &error);
  g_assert_no_error (error);
  dothi_project_close (project);
  g_object_unref (project);

  f->network = dothi_network_build (f->path, "cap_nuoc", NULL, &error);
  g_assert_no_error (error);
  f->break_edge = dothi_network_nearest_edge (f->network, OX + 175, OY, 5, &position);
  g_assert_cmpuint (f->break_edge, !=, G_MAXUINT);
  f->trace = dothi_network_isolate (f->network, f->break_edge, NULL, 0, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->trace, dothi_trace_free);
  g_clear_pointer (&f->network, dothi_network_free);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* The ids of @nodes, in order. */
static GPtrArray *
node_ids (DothiNetwork *network, GArray *nodes)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      DothiNetworkNode node;

      g_assert_true (dothi_network_get_node (network, g_array_index (nodes, guint, i), &node));
      g_ptr_array_add (ids, g_strdup (node.id));
    }
  return ids;
}

static gboolean
has_id (GPtrArray *ids, const char *id)
{
  for (guint i = 0; i < ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (ids, i), id) == 0)
      return TRUE;
  return FALSE;
}

/* The isolation the exports describe (the network's own tests check it
 * more closely). */
static void
test_trace (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) close = node_ids (f->network, f->trace->valves_to_close);
  g_autoptr(GPtrArray) closed = node_ids (f->network, f->trace->valves_closed);
  g_autoptr(GPtrArray) customers = node_ids (f->network, f->trace->customers);

  g_assert_cmpuint (close->len, ==, 2);
  g_assert_true (has_id (close, "V2"));
  g_assert_true (has_id (close, "V3"));
  g_assert_true (has_id (closed, "V4"));
  g_assert_cmpuint (customers->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (customers, 0), ==, "KH-001");
  g_assert_cmpstr (g_ptr_array_index (customers, 1), ==, "KH-002");
}

static void
test_csv (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "co-lap.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) close = node_ids (f->network, f->trace->valves_to_close);
  g_auto(GDALDatasetH) ds = NULL;
  OGRLayerH layer;
  OGRFeatureH feature;
  guint row = 0;

  g_assert_true (dothi_network_export_trace (f->path, f->network, f->trace, out, NULL, &error));
  g_assert_no_error (error);
  g_file_get_contents (out, &text, NULL, &error);
  g_assert_no_error (error);
  /* A BOM for spreadsheets, then UTF-8 in NFC. */
  g_assert_true (g_str_has_prefix (text, "\xef\xbb\xbfrole,number,id,kind,layer,fid,easting,northing,state\r\n"));
  g_assert_nonnull (strstr (text, "customer,,KH-001,bệnh viện,khach_hang,1,450270.000,1400000.000,\r\n"));

  ds = GDALOpenEx (out, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  g_assert_nonnull (ds);
  layer = GDALDatasetGetLayer (ds, 0);
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==,
                   f->trace->valves_to_close->len + f->trace->customers->len);
  OGR_L_ResetReading (layer);
  while ((feature = OGR_L_GetNextFeature (layer)) != NULL)
    {
      const char *role = OGR_F_GetFieldAsString (feature, OGR_F_GetFieldIndex (feature, "role"));
      const char *id = OGR_F_GetFieldAsString (feature, OGR_F_GetFieldIndex (feature, "id"));

      if (row < close->len)
        {
          g_autofree char *number = g_strdup_printf ("%u", row + 1);

          g_assert_cmpstr (role, ==, "valve_to_close");
          g_assert_cmpstr (id, ==, g_ptr_array_index (close, row));
          g_assert_cmpstr (OGR_F_GetFieldAsString (feature, OGR_F_GetFieldIndex (feature, "number")),
                           ==, number);
          g_assert_cmpstr (OGR_F_GetFieldAsString (feature, OGR_F_GetFieldIndex (feature, "state")),
                           ==, "open");
        }
      else
        g_assert_cmpstr (role, ==, "customer");
      row++;
      OGR_F_Destroy (feature);
    }
  g_assert_cmpuint (row, ==, close->len + 2);
}

static void
test_geojson (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "co-lap.geojson", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) close = node_ids (f->network, f->trace->valves_to_close);
  JsonArray *features;
  guint n_close = 0, n_closed = 0, n_customers = 0, n_lost = 0;

  g_assert_true (dothi_network_export_trace (f->path, f->network, f->trace, out, NULL, &error));
  g_assert_no_error (error);
  json_parser_load_from_file (parser, out, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "type"),
                   ==, "FeatureCollection");
  features = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "features");
  for (guint i = 0; i < json_array_get_length (features); i++)
    {
      JsonObject *feature = json_array_get_object_element (features, i);
      JsonObject *props = json_object_get_object_member (feature, "properties");
      JsonObject *geometry = json_object_get_object_member (feature, "geometry");
      const char *role = json_object_get_string_member (props, "dothi:role");
      JsonArray *position;

      if (g_strcmp0 (role, "lost_pipe") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (geometry, "type"), ==, "MultiLineString");
          position = json_array_get_array_element (json_array_get_array_element (
                       json_object_get_array_member (geometry, "coordinates"), 0), 0);
          n_lost++;
        }
      else
        {
          g_assert_cmpstr (json_object_get_string_member (geometry, "type"), ==, "Point");
          position = json_object_get_array_member (geometry, "coordinates");
        }
      /* RFC 7946: longitude first; Buôn Ma Thuột is near 108.0° E, 12.7° N. */
      g_assert_cmpfloat (json_array_get_double_element (position, 0), >, 107.5);
      g_assert_cmpfloat (json_array_get_double_element (position, 0), <, 108.5);
      g_assert_cmpfloat (json_array_get_double_element (position, 1), >, 12.2);
      g_assert_cmpfloat (json_array_get_double_element (position, 1), <, 13.2);

      if (g_strcmp0 (role, "valve_to_close") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (props, "id"), ==,
                           g_ptr_array_index (close, n_close));
          g_assert_cmpint (json_object_get_int_member (props, "number"), ==, n_close + 1);
          n_close++;
        }
      else if (g_strcmp0 (role, "valve_closed") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (props, "id"), ==, "V4");
          g_assert_cmpstr (json_object_get_string_member (props, "state"), ==, "closed");
          n_closed++;
        }
      else if (g_strcmp0 (role, "customer") == 0)
        {
          if (n_customers == 0)
            g_assert_cmpstr (json_object_get_string_member (props, "kind"), ==, "bệnh viện");
          n_customers++;
        }
    }
  g_assert_cmpuint (n_close, ==, close->len);
  g_assert_cmpuint (n_closed, ==, 1);
  g_assert_cmpuint (n_customers, ==, 2);
  /* O2 (its eastern part), O3, O4 and O5. */
  g_assert_cmpuint (n_lost, ==, 4);
}

static void
test_bad_format (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "co-lap.xlsx", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (dothi_network_export_trace (f->path, f->network, f->trace, out, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "co-lap.xlsx"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static char *
pdf_text (const char *pdf)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "pdftotext", "-layout", pdf, "-", NULL };
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  return g_utf8_normalize (out, -1, G_NORMALIZE_NFC);
}

static void
assert_has (const char *text, const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_test_message ("the work order has no “%s”:\n%s", needle, text);
  g_assert_nonnull (strstr (text, needle));
}

static void
test_work_order (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "phieu.pdf", NULL);
  g_autofree char *pdftotext = g_find_program_in_path ("pdftotext");
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) close = node_ids (f->network, f->trace->valves_to_close);

  g_assert_true (dothi_network_print_work_order (f->path, f->network, f->trace, f->break_edge,
                                                 "WO-2026-031", out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  if (pdftotext == NULL)
    {
      g_test_skip ("pdftotext (poppler-utils) is not installed");
      return;
    }
  text = pdf_text (out);
  assert_has (text, "PHIẾU CÔNG TÁC CÔ LẬP SỰ CỐ");
  assert_has (text, "WO-2026-031");
  for (guint i = 0; i < close->len; i++)
    assert_has (text, g_ptr_array_index (close, i));
  assert_has (text, "V4");
  assert_has (text, "KH-001");
  assert_has (text, "bệnh viện");
  assert_has (text, "NGƯỜI LẬP PHIẾU");
  assert_has (text, "TRƯỞNG CA / KỸ THUẬT");
  /* The broken pipe, and X (northing) before Y (easting). */
  assert_has (text, "O2");
  assert_has (text, "1.400.000,00");
  assert_has (text, "450.250,00");
}

/* V3 is stuck: the next ring closes V5 instead, and the order says so. */
static void
test_work_order_seized (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "phieu-ket.pdf", NULL);
  g_autofree char *pdftotext = g_find_program_in_path ("pdftotext");
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiTrace) trace = NULL;
  g_autoptr(GPtrArray) close = NULL;
  g_autoptr(GPtrArray) seized = NULL;
  guint v3 = G_MAXUINT;

  for (guint i = 0; i < f->trace->valves_to_close->len; i++)
    {
      DothiNetworkNode node;
      guint n = g_array_index (f->trace->valves_to_close, guint, i);

      g_assert_true (dothi_network_get_node (f->network, n, &node));
      if (g_strcmp0 (node.id, "V3") == 0)
        v3 = n;
    }
  g_assert_cmpuint (v3, !=, G_MAXUINT);
  trace = dothi_network_isolate (f->network, f->break_edge, &v3, 1, &error);
  g_assert_no_error (error);
  close = node_ids (f->network, trace->valves_to_close);
  seized = node_ids (f->network, trace->valves_seized);
  g_assert_true (has_id (seized, "V3"));
  g_assert_false (has_id (close, "V3"));

  g_assert_true (dothi_network_print_work_order (f->path, f->network, trace, f->break_edge,
                                                 "WO-2026-033", out, NULL, &error));
  g_assert_no_error (error);
  if (pdftotext == NULL)
    {
      g_test_skip ("pdftotext (poppler-utils) is not installed");
      return;
    }
  text = pdf_text (out);
  assert_has (text, "WO-2026-033");
  for (guint i = 0; i < close->len; i++)
    assert_has (text, g_ptr_array_index (close, i));
  assert_has (text, "V3");
  assert_has (text, "Kẹt, không đóng được");
}

/* Nothing at all is left by a cancelled or failed print. */
static void
test_work_order_cancelled (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "phieu.pdf", NULL);
  g_autofree char *bad = g_build_filename (f->dir, "no-such-folder", "phieu.pdf", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_cancellable_cancel (cancellable);
  g_assert_false (dothi_network_print_work_order (f->path, f->network, f->trace, f->break_edge,
                                                  "WO-2026-032", out, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_false (dothi_network_print_work_order (f->path, f->network, f->trace, f->break_edge,
                                                  "WO-2026-032", bad, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "phieu.pdf"));
  g_clear_error (&error);

  g_assert_false (dothi_network_print_work_order (f->path, f->network, f->trace, f->break_edge,
                                                  "  ", out, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);

  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  dir = g_dir_open (f->dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (strstr (name, "phieu") != NULL);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add ("/network-report/trace", Fixture, NULL, fixture_set_up, test_trace, fixture_tear_down);
  g_test_add ("/network-report/csv", Fixture, NULL, fixture_set_up, test_csv, fixture_tear_down);
  g_test_add ("/network-report/geojson", Fixture, NULL, fixture_set_up, test_geojson, fixture_tear_down);
  g_test_add ("/network-report/bad-format", Fixture, NULL, fixture_set_up, test_bad_format,
              fixture_tear_down);
  g_test_add ("/network-report/work-order", Fixture, NULL, fixture_set_up, test_work_order,
              fixture_tear_down);
  g_test_add ("/network-report/work-order-seized", Fixture, NULL, fixture_set_up,
              test_work_order_seized, fixture_tear_down);
  g_test_add ("/network-report/work-order-cancelled", Fixture, NULL, fixture_set_up,
              test_work_order_cancelled, fixture_tear_down);

  return g_test_run ();
}
