/* test-layout.c: print layouts: JSON read, checked and written back, bad
 * layouts refused naming the item, the planning, cadastral and handout
 * templates on a generated demo city, and layouts stored in the project. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-layout.h"
#include "dothi-project.h"
#include "dothi-spatialite-store.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

#define DEMO_PARCELS 400
#define DEMO_SEED 7

static char *demo_dir;
static char *demo_project;

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

/* One demo project per run, imported once; each test works on a copy. */
static const char *
make_demo_project (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *gpkg = NULL;

  if (demo_project != NULL)
    return demo_project;

  demo_dir = dothi_test_mkdtemp ();
  gpkg = g_build_filename (demo_dir, "city.gpkg", NULL);
  dothi_demo_city_write (gpkg, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  demo_project = g_build_filename (demo_dir, "demo.dothi", NULL);
  project = dothi_project_create (demo_project, NULL, &error);
  g_assert_no_error (error);
  import = dothi_import_new (project, gpkg);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dothi_project_checkpoint (project, &error);
  g_assert_no_error (error);
  dothi_project_close (project);
  return demo_project;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) source = g_file_new_for_path (make_demo_project ());
  g_autoptr(GFile) target = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  target = g_file_new_for_path (f->path);
  /* Checkpointed and closed: the main file holds everything. */
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
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

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack, needle);
}

static double
number (JsonObject *obj, const char *name)
{
  g_assert_true (json_object_has_member (obj, name));
  return json_object_get_double_member (obj, name);
}

/* ---- page sizes --------------------------------------------------------- */

static void
test_page_sizes (void)
{
  static const struct { const char *name; double w, h; } sizes[] = {
    { "A4", 210, 297 }, { "A3", 297, 420 }, { "A2", 420, 594 },
    { "A1", 594, 841 }, { "A0", 841, 1189 },
  };
  double w = -1, h = -1;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *lower = g_ascii_strdown (sizes[i].name, -1);

      g_assert_true (dothi_page_size_lookup (sizes[i].name, &w, &h));
      g_assert_cmpfloat (w, ==, sizes[i].w);
      g_assert_cmpfloat (h, ==, sizes[i].h);
      g_assert_true (dothi_page_size_lookup (lower, &w, &h));
      g_assert_cmpfloat (w, ==, sizes[i].w);
      g_assert_cmpfloat (h, ==, sizes[i].h);
    }
  g_assert_false (dothi_page_size_lookup ("B5", &w, &h));
  g_assert_false (dothi_page_size_lookup ("A5", &w, &h));
  g_assert_false (dothi_page_size_lookup ("", &w, &h));
  g_assert_false (dothi_page_size_lookup (NULL, &w, &h));
}

/* The page as printed: orientation applied; custom as given. */
static void
test_page_orientation (void)
{
  static const struct { const char *page; double w, h; } cases[] = {
    { "{\"size\": \"A3\", \"orientation\": \"landscape\"}", 420, 297 },
    { "{\"size\": \"a3\", \"orientation\": \"portrait\"}", 297, 420 },
    { "{\"size\": \"A0\", \"orientation\": \"landscape\"}", 1189, 841 },
    { "{\"size\": \"A4\"}", 210, 297 },
    { "{\"size\": \"custom\", \"width\": 500, \"height\": 300}", 500, 300 },
    { "{\"size\": \"custom\", \"width\": 500, \"height\": 300, \"orientation\": \"portrait\"}", 300, 500 },
    { "{\"size\": \"custom\", \"width\": 1189, \"height\": 841}", 1189, 841 },
    { "{\"width\": 841, \"height\": 1189}", 841, 1189 },
    /* A named size ignores width and height an editor left in. */
    { "{\"size\": \"A2\", \"orientation\": \"landscape\", \"width\": 1, \"height\": 2}", 594, 420 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiLayout) layout = NULL;
      g_autofree char *json = g_strdup_printf ("{\"name\": \"t\", \"page\": %s, \"items\": []}",
                                               cases[i].page);
      double w = 0, h = 0;

      layout = dothi_layout_new_from_json (json, &error);
      g_assert_no_error (error);
      dothi_layout_get_page_size (layout, &w, &h);
      g_assert_cmpfloat (w, ==, cases[i].w);
      g_assert_cmpfloat (h, ==, cases[i].h);
    }
}

/* ---- JSON --------------------------------------------------------------- */

static const char good_layout[] =
  "{\n"
  "  \"name\": \"Bản đồ quy hoạch sử dụng đất\",\n"
  "  \"page\": { \"size\": \"A3\", \"orientation\": \"landscape\", \"width\": 420, \"height\": 297 },\n"
  "  \"items\": [\n"
  "    { \"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10, \"w\": 300, \"h\": 277,\n"
  "      \"scale\": 2000, \"extent\": [583000.5, 1400000, 584000, 1401000.25],\n"
  "      \"layers\": [\"parcels\", \"zoning\"], \"grid\": 500, \"labels\": true },\n"
  "    { \"type\": \"map\", \"id\": \"inset\", \"x\": 315, \"y\": 10, \"w\": 95, \"h\": 60,\n"
  "      \"scale\": 5000, \"center\": [583500, 1400500] },\n"
  "    { \"type\": \"overview\", \"map\": \"map\", \"x\": 315, \"y\": 75, \"w\": 95, \"h\": 40,\n"
  "      \"layers\": [\"zoning\"] },\n"
  "    { \"type\": \"legend\", \"id\": \"legend\", \"map\": \"map\", \"x\": 315, \"y\": 120,\n"
  "      \"w\": 95, \"h\": 60, \"title\": \"Chú giải\" },\n"
  "    { \"type\": \"scale_bar\", \"map\": \"inset\", \"x\": 315, \"y\": 185, \"w\": 80, \"h\": 12 },\n"
  "    { \"type\": \"north_arrow\", \"x\": 398, \"y\": 185, \"w\": 12, \"h\": 20 },\n"
  "    { \"type\": \"title_block\", \"template\": \"tt04-planning\", \"x\": 315, \"y\": 210,\n"
  "      \"w\": 95, \"h\": 50, \"fields\": { \"agency\": \"ỦY BAN NHÂN DÂN\",\n"
  "      \"title\": \"BẢN ĐỒ QUY HOẠCH SỬ DỤNG ĐẤT\", \"scale\": \"{scale}\",\n"
  "      \"decision\": \"Số: …/QĐ-UBND\", \"date\": \"{date}\", \"signer\": \"\" } },\n"
  "    { \"type\": \"text\", \"x\": 315, \"y\": 262, \"w\": 95, \"h\": 8, \"text\": \"Trang {page}/{pages}\",\n"
  "      \"size\": 12, \"bold\": false, \"align\": \"center\" },\n"
  "    { \"type\": \"image\", \"x\": 315, \"y\": 272, \"w\": 10, \"h\": 10, \"path\": \"/tmp/logo.png\" },\n"
  "    { \"type\": \"table\", \"x\": 330, \"y\": 272, \"w\": 80, \"h\": 15, \"layer\": \"parcels\",\n"
  "      \"fields\": [\"so_to\", \"so_thua\"], \"where\": \"so_to = 3\", \"max_rows\": 40 },\n"
  "    { \"type\": \"frame\", \"x\": 0, \"y\": 0, \"w\": 420, \"h\": 297, \"line\": 0.5 }\n"
  "  ],\n"
  "  \"atlas\": { \"layer\": \"zoning\", \"title_field\": \"ten\", \"margin\": 0.1 }\n"
  "}\n";

static void
test_json_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autoptr(DothiLayout) again = NULL;
  g_autoptr(DothiLayout) copy = NULL;
  g_autoptr(JsonNode) original = NULL;
  g_autoptr(JsonNode) written = NULL;
  g_autofree char *json = NULL;
  g_autofree char *json2 = NULL;
  JsonObject *item;
  double w, h;

  layout = dothi_layout_new_from_json (good_layout, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dothi_layout_get_name (layout), ==, "Bản đồ quy hoạch sử dụng đất");
  dothi_layout_get_page_size (layout, &w, &h);
  g_assert_cmpfloat (w, ==, 420);
  g_assert_cmpfloat (h, ==, 297);

  /* Written and read again, it is the same JSON, and writes the same text. */
  json = dothi_layout_to_json (layout);
  original = json_from_string (good_layout, &error);
  g_assert_no_error (error);
  written = json_from_string (json, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (original, written));
  again = dothi_layout_new_from_json (json, &error);
  g_assert_no_error (error);
  json2 = dothi_layout_to_json (again);
  g_assert_cmpstr (json, ==, json2);

  item = dothi_layout_find_item (layout, "legend");
  g_assert_nonnull (item);
  g_assert_cmpstr (json_object_get_string_member (item, "type"), ==, "legend");
  g_assert_cmpstr (json_object_get_string_member (item, "title"), ==, "Chú giải");
  item = dothi_layout_find_item (layout, "inset");
  g_assert_nonnull (item);
  g_assert_cmpfloat (number (item, "scale"), ==, 5000);
  g_assert_null (dothi_layout_find_item (layout, "missing"));
  item = dothi_layout_find_item (layout, "map");
  g_assert_nonnull (item);
  g_assert_cmpfloat_with_epsilon (json_array_get_double_element (
                                    json_object_get_array_member (item, "extent"), 0),
                                  583000.5, 1e-9);

  /* A copy is deep. */
  copy = dothi_layout_copy (layout);
  json_object_set_string_member (dothi_layout_get_object (copy), "name", "Khác");
  g_assert_cmpstr (dothi_layout_get_name (copy), ==, "Khác");
  g_assert_cmpstr (dothi_layout_get_name (layout), ==, "Bản đồ quy hoạch sử dụng đất");
}

/* Decomposed Vietnamese (as some keyboards type it) is stored as NFC. */
static void
test_json_nfc (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autofree char *nfd_name = g_utf8_normalize ("Bản đồ địa chính", -1, G_NORMALIZE_NFD);
  g_autofree char *nfd_text = g_utf8_normalize ("QUY HOẠCH", -1, G_NORMALIZE_NFD);
  g_autofree char *json = NULL;
  JsonObject *item;

  g_assert_cmpstr (nfd_name, !=, "Bản đồ địa chính");
  json = g_strdup_printf ("{\"name\": \"%s\", \"page\": {\"size\": \"A4\"}, \"items\": ["
                          "{\"type\": \"text\", \"id\": \"t\", \"x\": 10, \"y\": 10, \"w\": 100,"
                          " \"h\": 10, \"text\": \"%s\"}]}", nfd_name, nfd_text);
  layout = dothi_layout_new_from_json (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dothi_layout_get_name (layout), ==, "Bản đồ địa chính");
  item = dothi_layout_find_item (layout, "t");
  g_assert_cmpstr (json_object_get_string_member (item, "text"), ==, "QUY HOẠCH");
}

/* Layouts the printer can still make sense of. */
static void
test_json_allowed (void)
{
  static const char *const cases[] = {
    /* No scale, extent or centre: the printer fits the project's extent. */
    "{\"items\": [{\"type\": \"map\", \"x\": 10, \"y\": 10, \"w\": 100, \"h\": 100}]}",
    /* A scale of 0 with an extent fits the extent. */
    "{\"items\": [{\"type\": \"map\", \"x\": 10, \"y\": 10, \"w\": 100, \"h\": 100,"
    " \"scale\": 0, \"extent\": [0, 0, 100, 100]}]}",
    /* A map without an id is "map" to the legend. */
    "{\"items\": [{\"type\": \"legend\", \"map\": \"map\", \"x\": 120, \"y\": 10, \"w\": 50, \"h\": 50},"
    " {\"type\": \"map\", \"x\": 10, \"y\": 10, \"w\": 100, \"h\": 100}]}",
    /* A scale bar without "map" takes the first map. */
    "{\"items\": [{\"type\": \"map\", \"id\": \"a\", \"x\": 10, \"y\": 10, \"w\": 100, \"h\": 100},"
    " {\"type\": \"scale_bar\", \"x\": 10, \"y\": 120, \"w\": 50, \"h\": 10}]}",
    /* An item touching the page edge; an empty page. */
    "{\"page\": {\"size\": \"A4\"}, \"items\": [{\"type\": \"frame\", \"x\": 0, \"y\": 0, \"w\": 210, \"h\": 297}]}",
    "{\"name\": \"trống\", \"items\": []}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiLayout) layout = dothi_layout_new_from_json (cases[i], &error);

      g_assert_no_error (error);
      g_assert_nonnull (layout);
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiLayout) layout = dothi_layout_new_from_json (cases[2], &error);
    JsonObject *map = dothi_layout_find_item (layout, "map");

    g_assert_nonnull (map);
    g_assert_cmpstr (json_object_get_string_member (map, "type"), ==, "map");
  }
}

#define A3L "\"page\": {\"size\": \"A3\", \"orientation\": \"landscape\"}, "
#define MAP "{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200}"

static void
test_json_refused (void)
{
  static const struct {
    const char *json;
    const char *words[3];   /* each must be in the message */
  } cases[] = {
    { "{" A3L "\"items\": [" MAP ", {\"type\": \"compass\", \"id\": \"hoa_gio\", \"x\": 10, \"y\": 10, \"w\": 10, \"h\": 10}]}",
      { "“hoa_gio”", "compass", "“type”" } },
    { "{" A3L "\"items\": [" MAP ", {\"type\": \"compass\", \"x\": 10, \"y\": 10, \"w\": 10, \"h\": 10}]}",
      { "item 2", "compass", "“type”" } },
    { "{" A3L "\"items\": [{\"x\": 10, \"y\": 10, \"w\": 10, \"h\": 10}]}",
      { "item 1", "“type”", "missing" } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"id\": \"ghi_chu\", \"x\": 10, \"y\": 10, \"h\": 10, \"text\": \"a\"}]}",
      { "“ghi_chu”", "“w”", "missing" } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"id\": \"ghi_chu\", \"x\": 10, \"y\": 10, \"w\": 10, \"h\": 0, \"text\": \"a\"}]}",
      { "“ghi_chu”", "“h”", "greater than 0" } },
    { "{" A3L "\"items\": [" MAP ", {\"type\": \"north_arrow\", \"x\": 10, \"y\": 10, \"w\": -5, \"h\": 10}]}",
      { "item 2", "“w”", "greater than 0" } },
    { "{" A3L "\"items\": [{\"type\": \"north_arrow\", \"id\": \"bac\", \"y\": 10, \"w\": 5, \"h\": 10}]}",
      { "“bac”", "“x”", "missing" } },
    { "{" A3L "\"items\": [{\"type\": \"north_arrow\", \"id\": \"bac\", \"x\": \"10\", \"y\": 10, \"w\": 5, \"h\": 10}]}",
      { "“bac”", "“x”", "number" } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"id\": \"ghi_chu\", \"x\": 400, \"y\": 10, \"w\": 50, \"h\": 10, \"text\": \"a\"}]}",
      { "“ghi_chu”", "outside", "420 × 297" } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"id\": \"ghi_chu\", \"x\": 10, \"y\": -1, \"w\": 50, \"h\": 10, \"text\": \"a\"}]}",
      { "“ghi_chu”", "outside", NULL } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"x\": 10, \"y\": 250, \"w\": 50, \"h\": 48, \"text\": \"a\"}]}",
      { "item 1", "outside", NULL } },
    { "{\"page\": {\"size\": \"custom\", \"width\": 900, \"height\": 1200}, \"items\": []}",
      { "larger than A0", "900 × 1200", NULL } },
    { "{\"page\": {\"size\": \"custom\", \"width\": 1190, \"height\": 500}, \"items\": []}",
      { "larger than A0", NULL, NULL } },
    { "{\"page\": {\"size\": \"custom\", \"width\": 300}, \"items\": []}",
      { "“height”", NULL, NULL } },
    { "{\"page\": {\"size\": \"B5\"}, \"items\": []}",
      { "“B5”", "page size", NULL } },
    { "{\"page\": {\"size\": \"A3\", \"orientation\": \"sideways\"}, \"items\": []}",
      { "“sideways”", "orientation", NULL } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200, \"scale\": -2000}]}",
      { "“ban_do”", "“scale”", "negative" } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200, \"scale\": 0, \"center\": [583000, 1400000]}]}",
      { "“ban_do”", "scale of 0", "“center”" } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200, \"center\": [583000, 1400000]}]}",
      { "“ban_do”", "“center”", "“scale”" } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200, \"extent\": [10, 0, 5, 100]}]}",
      { "“ban_do”", "“extent”", NULL } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200, \"scale\": 1000, \"center\": [1]}]}",
      { "“ban_do”", "“center”", NULL } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"ban_do\", \"x\": 10, \"y\": 10, \"w\": 200, \"h\": 200, \"layers\": \"parcels\"}]}",
      { "“ban_do”", "“layers”", NULL } },
    { "{" A3L "\"items\": [" MAP ", {\"type\": \"legend\", \"id\": \"chu_giai\", \"map\": \"khong_co\", \"x\": 220, \"y\": 10, \"w\": 50, \"h\": 50}]}",
      { "“chu_giai”", "“map”", "“khong_co”" } },
    { "{" A3L "\"items\": [" MAP ", {\"type\": \"scale_bar\", \"map\": \"map\", \"x\": 220, \"y\": 10, \"w\": 50, \"h\": 10}]}",
      { "item 2", "“map”", "“map”" } },
    { "{" A3L "\"items\": [{\"type\": \"overview\", \"id\": \"so_do\", \"x\": 220, \"y\": 10, \"w\": 50, \"h\": 50}]}",
      { "“so_do”", "“map”", "no map item" } },
    { "{" A3L "\"items\": [" MAP "], \"atlas\": {\"title_field\": \"ten\"}}",
      { "atlas", "“layer”", NULL } },
    { "{" A3L "\"items\": [" MAP "], \"atlas\": {\"layer\": \"zoning\", \"margin\": -1}}",
      { "atlas", "“margin”", NULL } },
    { "{" A3L "\"items\": [" MAP ", " MAP "]}",
      { "“ban_do”", "Two", NULL } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"id\": \"ghi_chu\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 10, \"text\": \"a\", \"align\": \"justify\"}]}",
      { "“ghi_chu”", "“align”", "“justify”" } },
    { "{" A3L "\"items\": [{\"type\": \"text\", \"id\": \"ghi_chu\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 10}]}",
      { "“ghi_chu”", "“text”", "missing" } },
    { "{" A3L "\"items\": [{\"type\": \"title_block\", \"id\": \"khung_ten\", \"template\": \"tt99\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 10}]}",
      { "“khung_ten”", "“template”", "“tt99”" } },
    { "{" A3L "\"items\": [{\"type\": \"table\", \"id\": \"bang\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 10}]}",
      { "“bang”", "“layer”", "missing" } },
    { "{" A3L "\"items\": [{\"type\": \"image\", \"id\": \"logo\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 10}]}",
      { "“logo”", "“path”", "missing" } },
    { "{" A3L "\"items\": [{\"type\": \"map\", \"id\": \"\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 10}]}",
      { "item 1", "“id”", NULL } },
    { "{" A3L "\"items\": [42]}", { "item 1", NULL, NULL } },
    { "{" A3L "\"items\": {}}", { "“items”", NULL, NULL } },
    { "{\"page\": {\"size\": \"A3\"}}", { "“items”", NULL, NULL } },
    { "{\"name\": 5, \"items\": []}", { "“name”", NULL, NULL } },
    { "[1, 2]", { "JSON object", NULL, NULL } },
    { "{\"items\": [", { "JSON", NULL, NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiLayout) layout = dothi_layout_new_from_json (cases[i].json, &error);

      g_test_message ("case %u: %s", i, cases[i].json);
      g_assert_null (layout);
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
      for (guint k = 0; k < G_N_ELEMENTS (cases[i].words) && cases[i].words[k]; k++)
        assert_contains (error->message, cases[i].words[k]);
    }
}

/* A layout changed in place is checked again with dothi_layout_validate. */
static void
test_json_validate_edit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = dothi_layout_new_from_json (good_layout, &error);
  JsonObject *map;
  double w, h;

  g_assert_no_error (error);
  map = dothi_layout_find_item (layout, "map");
  json_object_set_int_member (map, "scale", -500);
  g_assert_false (dothi_layout_validate (layout, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“map”");
  assert_contains (error->message, "“scale”");
  g_clear_error (&error);

  json_object_set_int_member (map, "scale", 1000);
  g_assert_true (dothi_layout_validate (layout, &error));
  g_assert_no_error (error);

  /* A page made too big: refused, and the size reads as A4 meanwhile. */
  json_object_set_string_member (json_object_get_object_member (dothi_layout_get_object (layout), "page"),
                                 "size", "A00");
  g_assert_false (dothi_layout_validate (layout, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“A00”");
  dothi_layout_get_page_size (layout, &w, &h);
  g_assert_cmpfloat (w, ==, 210);
  g_assert_cmpfloat (h, ==, 297);
}

/* ---- templates ---------------------------------------------------------- */

typedef struct {
  double x, y, w, h;
} Box;

static Box
item_box (JsonObject *item)
{
  Box b = { number (item, "x"), number (item, "y"), number (item, "w"), number (item, "h") };

  return b;
}

/* The union of the visible layers' extents. */
static void
project_extent (DothiProject *project, double extent[4])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (project, &error);

  g_assert_no_error (error);
  extent[0] = extent[1] = G_MAXDOUBLE;
  extent[2] = extent[3] = -G_MAXDOUBLE;
  for (guint i = 0; i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);

      if (!info->visible || info->kind == DOTHI_GEOMETRY_KIND_NONE || info->feature_count == 0)
        continue;
      extent[0] = MIN (extent[0], info->extent[0]);
      extent[1] = MIN (extent[1], info->extent[1]);
      extent[2] = MAX (extent[2], info->extent[2]);
      extent[3] = MAX (extent[3], info->extent[3]);
    }
  g_assert_cmpfloat (extent[0], <, extent[2]);
}

/* Checks @layout as a template must be: valid, written and read back,
 * on a @pw × @ph page, every item inside 10 mm margins and none over
 * another, the @types all there, the map showing the whole project at a
 * round scale. Returns the map item. */
static JsonObject *
check_template (DothiProject *project, DothiLayout *layout, double pw, double ph,
                const char *const *types)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) again = NULL;
  g_autofree char *json = NULL;
  JsonArray *items;
  JsonObject *map;
  JsonArray *center;
  double w, h, extent[4], scale;
  guint n;

  g_assert_true (dothi_layout_validate (layout, &error));
  g_assert_no_error (error);
  json = dothi_layout_to_json (layout);
  again = dothi_layout_new_from_json (json, &error);
  g_assert_no_error (error);

  dothi_layout_get_page_size (layout, &w, &h);
  g_assert_cmpfloat (w, ==, pw);
  g_assert_cmpfloat (h, ==, ph);

  items = json_object_get_array_member (dothi_layout_get_object (layout), "items");
  n = json_array_get_length (items);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      Box a = item_box (item);

      g_test_message ("%s at %g %g %g × %g", json_object_get_string_member (item, "type"),
                      a.x, a.y, a.w, a.h);
      g_assert_cmpfloat (a.x, >=, 10.0);
      g_assert_cmpfloat (a.y, >=, 10.0);
      g_assert_cmpfloat (a.x + a.w, <=, pw - 10.0);
      g_assert_cmpfloat (a.y + a.h, <=, ph - 10.0);
      g_assert_cmpfloat (a.w, >, 0);
      g_assert_cmpfloat (a.h, >, 0);
      for (guint k = i + 1; k < n; k++)
        {
          Box b = item_box (json_array_get_object_element (items, k));
          gboolean overlap = a.x < b.x + b.w && b.x < a.x + a.w
                             && a.y < b.y + b.h && b.y < a.y + a.h;

          g_assert_false (overlap);
        }
    }
  for (guint t = 0; types[t] != NULL; t++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < n && !found; i++)
        found = g_strcmp0 (json_object_get_string_member (json_array_get_object_element (items, i), "type"),
                           types[t]) == 0;
      if (!found)
        g_error ("The template has no %s", types[t]);
    }

  map = dothi_layout_find_item (layout, "map");
  g_assert_nonnull (map);
  g_assert_cmpstr (json_object_get_string_member (map, "type"), ==, "map");
  project_extent (project, extent);
  scale = number (map, "scale");
  {
    static const double scales[] = { 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000 };
    gboolean is_round = FALSE;
    Box b = item_box (map);

    for (guint i = 0; i < G_N_ELEMENTS (scales); i++)
      is_round |= scale == scales[i];
    g_assert_true (is_round);
    /* The whole extent fits the frame, and the next rounder scale down
     * would not. */
    g_assert_cmpfloat ((extent[2] - extent[0]) * 1000.0 / scale, <=, b.w);
    g_assert_cmpfloat ((extent[3] - extent[1]) * 1000.0 / scale, <=, b.h);
    for (guint i = 1; i < G_N_ELEMENTS (scales); i++)
      if (scales[i] == scale)
        g_assert_true ((extent[2] - extent[0]) * 1000.0 / scales[i - 1] > b.w
                       || (extent[3] - extent[1]) * 1000.0 / scales[i - 1] > b.h);
  }
  center = json_object_get_array_member (map, "center");
  g_assert_nonnull (center);
  g_assert_cmpfloat_with_epsilon (json_array_get_double_element (center, 0),
                                  (extent[0] + extent[2]) / 2, 0.25);
  g_assert_cmpfloat_with_epsilon (json_array_get_double_element (center, 1),
                                  (extent[1] + extent[3]) / 2, 0.25);
  return map;
}

static JsonObject *
title_fields (DothiLayout *layout, const char *template_name)
{
  JsonObject *title = dothi_layout_find_item (layout, "title_block");

  g_assert_nonnull (title);
  g_assert_cmpstr (json_object_get_string_member (title, "type"), ==, "title_block");
  g_assert_cmpstr (json_object_get_string_member (title, "template"), ==, template_name);
  return json_object_get_object_member (title, "fields");
}

static void
test_template_planning (Fixture *f, gconstpointer data)
{
  static const char *const types[] = {
    "map", "title_block", "legend", "scale_bar", "north_arrow", "overview", NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autoptr(DothiLayout) small = NULL;
  g_autoptr(DothiLayout) big = NULL;
  JsonObject *map, *fields, *legend, *overview, *small_map, *big_map;

  layout = dothi_layout_new_template (f->project, "planning", NULL, NULL, &error);
  g_assert_no_error (error);
  map = check_template (f->project, layout, 841, 594, types);
  g_assert_cmpstr (dothi_layout_get_name (layout), ==, "Bản đồ quy hoạch sử dụng đất");
  g_assert_true (json_object_get_boolean_member (map, "labels"));
  g_assert_cmpfloat (number (map, "grid"), ==, number (map, "scale") / 10);
  /* The map frame is most of the page. */
  g_assert_cmpfloat (number (map, "w") * number (map, "h"), >, 0.6 * 821 * 574);

  fields = title_fields (layout, "tt04-planning");
  g_assert_cmpstr (json_object_get_string_member (fields, "agency"), ==, "ỦY BAN NHÂN DÂN");
  g_assert_cmpstr (json_object_get_string_member (fields, "title"), ==, "BẢN ĐỒ QUY HOẠCH SỬ DỤNG ĐẤT");
  g_assert_cmpstr (json_object_get_string_member (fields, "drawing"), ==, "Bản đồ quy hoạch sử dụng đất");
  g_assert_cmpstr (json_object_get_string_member (fields, "decision"), ==, "Số: …/QĐ-UBND");
  g_assert_cmpstr (json_object_get_string_member (fields, "date"), ==, "{date}");
  g_assert_cmpstr (json_object_get_string_member (fields, "scale"), ==, "{scale}");
  /* The demo city is in EPSG:9218, meridian 108°30′. */
  assert_contains (json_object_get_string_member (fields, "crs"), "VN-2000");
  assert_contains (json_object_get_string_member (fields, "crs"), "108°30′");

  legend = dothi_layout_find_item (layout, "legend");
  g_assert_cmpstr (json_object_get_string_member (legend, "map"), ==, "map");
  overview = dothi_layout_find_item (layout, "overview");
  g_assert_cmpstr (json_object_get_string_member (overview, "map"), ==, "map");
  /* The demo's polygon layer with the fewest features. */
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (overview, "layers"), 0),
                   ==, "zoning");

  /* Another page: everything in proportion inside the same 10 mm
   * margins, at a scale for its frame. */
  small = dothi_layout_new_template (f->project, "planning", "A4", "Quy hoạch phường Tân Lợi", &error);
  g_assert_no_error (error);
  small_map = check_template (f->project, small, 297, 210, types);
  g_assert_cmpstr (dothi_layout_get_name (small), ==, "Quy hoạch phường Tân Lợi");
  fields = title_fields (small, "tt04-planning");
  g_assert_cmpstr (json_object_get_string_member (fields, "title"), ==, "Quy hoạch phường Tân Lợi");
  g_assert_cmpfloat (number (small_map, "scale"), >=, number (map, "scale"));
  g_assert_cmpfloat_with_epsilon (number (small_map, "w") / (297 - 20), number (map, "w") / (841 - 20), 0.01);

  big = dothi_layout_new_template (f->project, "planning", "a0", NULL, &error);
  g_assert_no_error (error);
  big_map = check_template (f->project, big, 1189, 841, types);
  g_assert_cmpfloat (number (big_map, "scale"), <=, number (map, "scale"));
  g_assert_cmpfloat_with_epsilon (number (big_map, "w") / (1189 - 20), number (map, "w") / (841 - 20), 0.01);
}

static void
test_template_cadastral (Fixture *f, gconstpointer data)
{
  static const char *const types[] = { "map", "title_block", "scale_bar", "north_arrow", NULL };
  const char *const pages[] = { NULL, "A4", "A3", "A2", "A0" };
  const double sizes[][2] = { { 594, 841 }, { 210, 297 }, { 297, 420 }, { 420, 594 }, { 841, 1189 } };

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiLayout) layout = NULL;
      JsonObject *map, *fields;
      double scale;

      layout = dothi_layout_new_template (f->project, "cadastral", pages[i], NULL, &error);
      g_assert_no_error (error);
      map = check_template (f->project, layout, sizes[i][0], sizes[i][1], types);
      g_assert_cmpstr (dothi_layout_get_name (layout), ==, "Bản đồ địa chính");
      /* A grid line every 10 cm on paper: 100 m at 1:1000, 1 km at 1:10 000. */
      scale = number (map, "scale");
      g_assert_cmpfloat (number (map, "grid"), ==, scale / 10);
      fields = title_fields (layout, "tt25-cadastral");
      g_assert_cmpstr (json_object_get_string_member (fields, "title"), ==, "BẢN ĐỒ ĐỊA CHÍNH");
      assert_contains (json_object_get_string_member (fields, "crs"), "108°30′");
    }
}

static void
test_template_handout (Fixture *f, gconstpointer data)
{
  static const char *const types[] = { "map", "title_block", "legend", "scale_bar", "north_arrow", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autoptr(DothiLayout) a1 = NULL;
  JsonObject *fields;

  layout = dothi_layout_new_template (f->project, "handout", NULL, "  Họp HĐND  ", &error);
  g_assert_no_error (error);
  check_template (f->project, layout, 420, 297, types);
  g_assert_cmpstr (dothi_layout_get_name (layout), ==, "Họp HĐND");
  fields = title_fields (layout, "simple");
  g_assert_cmpstr (json_object_get_string_member (fields, "title"), ==, "Họp HĐND");

  a1 = dothi_layout_new_template (f->project, "HANDOUT", "A1", NULL, &error);
  g_assert_no_error (error);
  check_template (f->project, a1, 841, 594, types);
}

static void
test_template_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (dothi_layout_new_template (f->project, "poster", NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“poster”");
  g_clear_error (&error);

  g_assert_null (dothi_layout_new_template (f->project, "planning", "A5", NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“A5”");
}

/* A project without layers still gets a layout: the printer will say the
 * frame has nothing to draw. */
static void
test_template_empty_project (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "empty.dothi", NULL);
  g_autoptr(DothiProject) project = dothi_project_create (path, NULL, &error);
  g_autoptr(DothiLayout) layout = NULL;
  JsonObject *map;

  g_assert_no_error (error);
  layout = dothi_layout_new_template (project, "planning", "A3", NULL, &error);
  g_assert_no_error (error);
  map = dothi_layout_find_item (layout, "map");
  g_assert_nonnull (map);
  g_assert_false (json_object_has_member (map, "center"));
  g_assert_false (json_object_has_member (map, "scale"));
  g_clear_object (&project);
  dothi_test_rmdir (dir);
}

/* ---- storage ------------------------------------------------------------ */

static sqlite3 *
project_db (Fixture *f)
{
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
}

static char *
query_text (Fixture *f, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

static void
assert_names (GStrv names, const char *const *expected)
{
  g_assert_nonnull (names);
  g_assert_cmpuint (g_strv_length (names), ==, g_strv_length ((GStrv) expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_cmpstr (names[i], ==, expected[i]);
}

static void
test_storage (Fixture *f, gconstpointer data)
{
  static const char *const none[] = { NULL };
  static const char *const two[] = { "Quy hoạch Tân Lợi", "Bản đồ địa chính", NULL };
  static const char *const one[] = { "Quy hoạch Tân Lợi", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) planning = NULL;
  g_autoptr(DothiLayout) cadastral = NULL;
  g_autoptr(DothiLayout) loaded = NULL;
  g_autoptr(DothiLayout) renamed = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *cookie = NULL;
  g_autofree char *modified = NULL;
  g_autofree char *nfd = NULL;
  g_autofree char *json = NULL;
  g_autofree char *loaded_json = NULL;
  JsonObject *map;

  /* Nothing stored yet: no table, an empty list. */
  names = dothi_layout_list (f->project, &error);
  g_assert_no_error (error);
  assert_names (names, none);
  g_clear_pointer (&names, g_strfreev);
  g_assert_null (query_text (f, "SELECT name FROM sqlite_master WHERE name = 'dothi_layouts'"));
  g_assert_null (dothi_layout_load (f->project, "Quy hoạch Tân Lợi", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "“Quy hoạch Tân Lợi”");
  g_clear_error (&error);
  g_assert_false (dothi_layout_delete (f->project, "Quy hoạch Tân Lợi", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  recorded = query_text (f, "SELECT value FROM dothi_meta WHERE key = 'triggers_schema_version'");
  cookie = query_text (f, "PRAGMA schema_version");
  g_assert_cmpstr (recorded, ==, cookie);
  g_clear_pointer (&recorded, g_free);
  g_clear_pointer (&cookie, g_free);

  planning = dothi_layout_new_template (f->project, "planning", "A2", "Quy hoạch Tân Lợi", &error);
  g_assert_no_error (error);
  cadastral = dothi_layout_new_template (f->project, "cadastral", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_layout_store (f->project, planning, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_layout_store (f->project, cadastral, &error));
  g_assert_no_error (error);

  /* The table came with the first store, and Dothi's own DDL does not
   * make the next open rewrite the audit triggers. */
  recorded = query_text (f, "SELECT value FROM dothi_meta WHERE key = 'triggers_schema_version'");
  cookie = query_text (f, "PRAGMA schema_version");
  g_assert_cmpstr (recorded, ==, cookie);
  modified = query_text (f, "SELECT modified FROM dothi_layouts WHERE name = 'Bản đồ địa chính'");
  g_assert_nonnull (modified);
  g_assert_cmpuint (strlen (modified), ==, strlen ("2025-01-01T00:00:00Z"));

  names = dothi_layout_list (f->project, &error);
  g_assert_no_error (error);
  assert_names (names, two);
  g_clear_pointer (&names, g_strfreev);

  loaded = dothi_layout_load (f->project, "Quy hoạch Tân Lợi", &error);
  g_assert_no_error (error);
  json = dothi_layout_to_json (planning);
  loaded_json = dothi_layout_to_json (loaded);
  g_assert_cmpstr (json, ==, loaded_json);
  g_clear_pointer (&loaded, dothi_layout_free);
  g_clear_pointer (&loaded_json, g_free);

  /* Replacing keeps the layout's place in the list; the name may come
   * decomposed and padded. */
  map = dothi_layout_find_item (planning, "map");
  json_object_set_int_member (map, "scale", 1000);
  nfd = g_utf8_normalize (" Quy hoạch Tân Lợi ", -1, G_NORMALIZE_NFD);
  json_object_set_string_member (dothi_layout_get_object (planning), "name", nfd);
  g_assert_true (dothi_layout_store (f->project, planning, &error));
  g_assert_no_error (error);
  names = dothi_layout_list (f->project, &error);
  g_assert_no_error (error);
  assert_names (names, two);
  g_clear_pointer (&names, g_strfreev);
  loaded = dothi_layout_load (f->project, nfd, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dothi_layout_get_name (loaded), ==, "Quy hoạch Tân Lợi");
  g_assert_cmpfloat (number (dothi_layout_find_item (loaded, "map"), "scale"), ==, 1000);
  g_clear_pointer (&loaded, dothi_layout_free);

  /* Refused: no name, an invalid layout; the stored ones stay. */
  renamed = dothi_layout_copy (cadastral);
  json_object_set_string_member (dothi_layout_get_object (renamed), "name", "   ");
  g_assert_false (dothi_layout_store (f->project, renamed, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  json_object_set_string_member (dothi_layout_get_object (renamed), "name", "Bản đồ địa chính");
  json_object_set_int_member (dothi_layout_find_item (renamed, "map"), "scale", -1);
  g_assert_false (dothi_layout_store (f->project, renamed, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“Bản đồ địa chính”");
  assert_contains (error->message, "“scale”");
  g_clear_error (&error);
  loaded = dothi_layout_load (f->project, "Bản đồ địa chính", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (number (dothi_layout_find_item (loaded, "map"), "scale"), >, 0);
  g_clear_pointer (&loaded, dothi_layout_free);

  /* Deleted. */
  g_assert_true (dothi_layout_delete (f->project, "Bản đồ địa chính", &error));
  g_assert_no_error (error);
  g_assert_null (dothi_layout_load (f->project, "Bản đồ địa chính", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (dothi_layout_delete (f->project, "Bản đồ địa chính", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);
  names = dothi_layout_list (f->project, &error);
  g_assert_no_error (error);
  assert_names (names, one);
  g_clear_pointer (&names, g_strfreev);

  /* In the file; a read-only project reads them and refuses changes. */
  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  names = dothi_layout_list (f->project, &error);
  g_assert_no_error (error);
  assert_names (names, one);
  g_clear_pointer (&names, g_strfreev);
  loaded = dothi_layout_load (f->project, "Quy hoạch Tân Lợi", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (number (dothi_layout_find_item (loaded, "map"), "scale"), ==, 1000);
  g_assert_false (dothi_layout_store (f->project, cadastral, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY);
  assert_contains (error->message, "“Bản đồ địa chính”");
  assert_contains (error->message, "read-only");
  g_clear_error (&error);
  g_assert_false (dothi_layout_delete (f->project, "Quy hoạch Tân Lợi", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY);
  g_clear_error (&error);
  names = dothi_layout_list (f->project, &error);
  g_assert_no_error (error);
  assert_names (names, one);
}

/* A layout edited by hand in the file is checked when loaded. */
static void
test_storage_bad_row (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  layout = dothi_layout_new_template (f->project, "handout", NULL, "Họp", &error);
  g_assert_no_error (error);
  g_assert_true (dothi_layout_store (f->project, layout, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f),
                                       "UPDATE dothi_layouts SET json = ?1 WHERE name = 'Họp'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, "{\"page\": {\"size\": \"A7\"}, \"items\": []}", -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_clear_pointer (&layout, dothi_layout_free);

  layout = dothi_layout_load (f->project, "Họp", &error);
  g_assert_null (layout);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“Họp”");
  assert_contains (error->message, "“A7”");
}

int
main (int argc, char **argv)
{
  int ret;

  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/layout/page/sizes", test_page_sizes);
  g_test_add_func ("/layout/page/orientation", test_page_orientation);
  g_test_add_func ("/layout/json/round-trip", test_json_round_trip);
  g_test_add_func ("/layout/json/nfc", test_json_nfc);
  g_test_add_func ("/layout/json/allowed", test_json_allowed);
  g_test_add_func ("/layout/json/refused", test_json_refused);
  g_test_add_func ("/layout/json/validate-edit", test_json_validate_edit);
  ADD ("/layout/template/planning", test_template_planning);
  ADD ("/layout/template/cadastral", test_template_cadastral);
  ADD ("/layout/template/handout", test_template_handout);
  ADD ("/layout/template/refused", test_template_refused);
  g_test_add_func ("/layout/template/empty-project", test_template_empty_project);
  ADD ("/layout/storage/store-list-load-delete", test_storage);
  ADD ("/layout/storage/bad-row", test_storage_bad_row);

  ret = g_test_run ();
  if (demo_dir != NULL)
    dothi_test_rmdir (demo_dir);
  g_free (demo_dir);
  g_free (demo_project);
  return ret;
}
