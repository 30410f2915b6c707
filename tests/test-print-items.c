/* test-print-items.c: the layout items other than the map (VN-2000 grid,
 * plot labels, legend, scale bar, title blocks, table, image, text) as
 * printed to PDF from a generated demo city, read back with pdftotext. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-layout.h"
#include "dothi-print.h"
#include "dothi-print-private.h"
#include "dothi-project.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define DEMO_PARCELS 1500
#define DEMO_SEED 7

/* A small part of the demo city and the centre of its zoning. */
#define CX 457900.0
#define CY 1403300.0

static char *shared_dir;
static char *demo_project;

typedef struct {
  char *dir;
  char *path;   /* a copy of the demo project */
} Fixture;

static const char *
make_demo_project (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *gpkg = NULL;

  if (demo_project != NULL)
    return demo_project;
  gpkg = g_build_filename (shared_dir, "city.gpkg", NULL);
  dothi_demo_city_write (gpkg, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  demo_project = g_build_filename (shared_dir, "demo.dothi", NULL);
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
  g_autoptr(GFile) src = g_file_new_for_path (make_demo_project ());
  g_autoptr(GFile) dst = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  dst = g_file_new_for_path (f->path);
  g_file_copy (src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static gboolean
have_pdftotext (void)
{
  g_autofree char *found = g_find_program_in_path ("pdftotext");

  if (found == NULL)
    {
      g_test_skip ("pdftotext is missing (apt-get install poppler-utils)");
      return FALSE;
    }
  return TRUE;
}

static char *
pdf_text (const char *path)
{
  const char *argv[] = { "pdftotext", "-enc", "UTF-8", "-raw", path, "-", NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_utf8_validate (out, -1, NULL));
  return out;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_test_message ("the text does not contain “%s”:\n%s", needle, haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

/* Prints @json to @out; FALSE with @error as dothi_print_sync says. */
static gboolean
print_json (Fixture *f, const char *json, const char *out, GError **error)
{
  g_autoptr(DothiLayout) layout = dothi_layout_new_from_json (json, error);
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, NULL, NULL };

  if (layout == NULL)
    return FALSE;
  return dothi_print_sync (f->path, layout, &options, out, NULL, NULL, NULL, error);
}

/* ---- numbers ------------------------------------------------------------- */

static void
test_format_number (void)
{
  const struct {
    double v;
    int d;
    const char *expected;
  } cases[] = {
    { 1234.5, 1, "1.234,5" },
    { 1402500, 0, "1.402.500" },
    { 999, 0, "999" },
    { 1000, 0, "1.000" },
    { -1234.25, 2, "-1.234,25" },
    { -0.001, 2, "0,00" },
    { 0.5, 2, "0,50" },
    { 973.8, 1, "973,8" },
    { 2.345, 0, "2" },
    { 12345678.9, 1, "12.345.678,9" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = dothi_print_format_number (cases[i].v, cases[i].d);

      g_assert_cmpstr (s, ==, cases[i].expected);
    }
  {
    g_autofree char *s = dothi_print_format_number (NAN, 1);

    g_assert_cmpstr (s, ==, "");
  }
}

static void
test_nice_length (void)
{
  g_assert_cmpfloat_with_epsilon (dothi_print_nice_length (1000), 200, 1e-9);
  g_assert_cmpfloat_with_epsilon (dothi_print_nice_length (300), 100, 1e-9);
  g_assert_cmpfloat_with_epsilon (dothi_print_nice_length (1600), 500, 1e-9);
  g_assert_cmpfloat_with_epsilon (dothi_print_nice_length (7.5), 2, 1e-9);
  g_assert_cmpfloat_with_epsilon (dothi_print_nice_length (45000), 10000, 1e-9);
  g_assert_cmpfloat_with_epsilon (dothi_print_nice_length (0), 0, 1e-9);
  /* Always within a third of the frame and at least a seventh and a half. */
  for (double m = 1; m < 1e6; m *= 1.37)
    {
      double n = dothi_print_nice_length (m);

      g_assert_cmpfloat (n, <=, m / 3 * (1 + 1e-9));
      g_assert_cmpfloat (n, >=, m / 7.5 * (1 - 1e-9));
    }
}

static void
test_text_layout (void)
{
  cairo_surface_t *surface = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, NULL);
  cairo_t *cr = cairo_create (surface);
  /* "Ế" decomposed: E, combining circumflex, combining acute. */
  g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, "TI\x45\xcc\x82\xcc\x81N", 10, TRUE, 0);
  g_autoptr(PangoLayout) wrapped = NULL;
  PangoRectangle logical;
  double h;

  g_assert_cmpstr (pango_layout_get_text (layout), ==, "TI\xe1\xba\xbeN");
  pango_layout_get_extents (layout, NULL, &logical);
  h = (double) logical.height / PANGO_SCALE;
  /* 10 pt is 3.53 mm; a line is a little more. */
  g_assert_cmpfloat (h, >, 3.5);
  g_assert_cmpfloat (h, <, 6.0);

  wrapped = dothi_print_text_layout (cr, "Bản đồ quy hoạch sử dụng đất phường Tân Lợi", 10, FALSE, 30);
  g_assert_cmpint (pango_layout_get_line_count (wrapped), >, 1);
  pango_layout_get_extents (wrapped, NULL, &logical);
  g_assert_cmpfloat ((double) logical.width / PANGO_SCALE, <=, 30.01);

  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* ---- a page with every item -------------------------------------------- */

static const char page_json[] =
  "{ \"name\": \"Bản đồ quy hoạch sử dụng đất\", \"page\": {\"size\": \"A3\", \"orientation\": \"landscape\"},"
  "  \"items\": ["
  "  {\"type\": \"map\", \"id\": \"map\", \"x\": 20, \"y\": 15, \"w\": 270, \"h\": 250, \"scale\": 5000,"
  "   \"center\": [457900, 1403300], \"layers\": [\"zoning\", \"roads\"], \"labels\": true, \"grid\": 200},"
  "  {\"type\": \"overview\", \"map\": \"map\", \"x\": 305, \"y\": 15, \"w\": 100, \"h\": 50},"
  "  {\"type\": \"legend\", \"map\": \"map\", \"x\": 305, \"y\": 70, \"w\": 100, \"h\": 70},"
  "  {\"type\": \"scale_bar\", \"map\": \"map\", \"x\": 305, \"y\": 142, \"w\": 80, \"h\": 12},"
  "  {\"type\": \"north_arrow\", \"x\": 390, \"y\": 140, \"w\": 12, \"h\": 18},"
  "  {\"type\": \"table\", \"x\": 305, \"y\": 160, \"w\": 100, \"h\": 45, \"layer\": \"parcels\","
  "   \"fields\": [\"so_to\", \"so_thua\", \"muc_dich\", \"dien_tich\"], \"max_rows\": 5},"
  "  {\"type\": \"text\", \"x\": 305, \"y\": 208, \"w\": 100, \"h\": 8, \"text\": \"Trang {page}/{pages}\", \"size\": 9},"
  "  {\"type\": \"frame\", \"x\": 10, \"y\": 8, \"w\": 400, \"h\": 282, \"line\": 0.5},"
  "  {\"type\": \"title_block\", \"template\": \"tt04-planning\", \"x\": 305, \"y\": 218, \"w\": 100, \"h\": 70,"
  "   \"fields\": {\"agency\": \"ỦY BAN NHÂN DÂN TỈNH ĐẮK LẮK\", \"title\": \"Bản đồ quy hoạch sử dụng đất\","
  "    \"drawing\": \"Quy hoạch phân khu\", \"decision\": \"Số: 123/QĐ-UBND\", \"date\": \"2025-05-12\","
  "    \"scale\": \"{scale}\", \"signer\": \"Nguyễn Văn An\"}},"
  "  {\"type\": \"title_block\", \"template\": \"tt25-cadastral\", \"x\": 20, \"y\": 268, \"w\": 140, \"h\": 20,"
  "   \"fields\": {\"commune\": \"Phường Tân Lợi\", \"sheet\": \"12\"}},"
  "  {\"type\": \"title_block\", \"template\": \"simple\", \"x\": 165, \"y\": 268, \"w\": 125, \"h\": 20,"
  "   \"fields\": {\"title\": \"Hiện trạng\", \"subtitle\": \"Phường Tân Lợi\", \"date\": \"2025-05-12\"}}"
  "  ]}";

static void
test_page (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "page.pdf", NULL);
  g_autofree char *text = NULL;

  if (!have_pdftotext ())
    return;
  g_assert_true (print_json (f, page_json, out, &error));
  g_assert_no_error (error);
  text = pdf_text (out);

  /* tt04 title block, NFC, in capitals. */
  assert_contains (text, "B\xe1\xba\xa2N \xc4\x90\xe1\xbb\x92 QUY HO\xe1\xba\xa0""CH S\xe1\xbb\xac D\xe1\xbb\xa4NG \xc4\x90\xe1\xba\xa4T");
  assert_contains (text, "CƠ QUAN PHÊ DUYỆT");
  assert_contains (text, "ỦY BAN NHÂN DÂN TỈNH ĐẮK LẮK");
  assert_contains (text, "Quyết định phê duyệt số: 123/QĐ-UBND");
  assert_contains (text, "12/05/2025");
  assert_contains (text, "Hệ tọa độ VN-2000, kinh tuyến trục 108°30′, múi chiếu 3°");
  assert_contains (text, "NGƯỜI LẬP");
  assert_contains (text, "KIỂM TRA");
  assert_contains (text, "PHÊ DUYỆT");
  assert_contains (text, "Nguyễn Văn An");
  /* tt25 and simple. */
  assert_contains (text, "BẢN ĐỒ ĐỊA CHÍNH");
  assert_contains (text, "Tờ số: 12");
  assert_contains (text, "Phường Tân Lợi");
  assert_contains (text, "HIỆN TRẠNG");
  /* Scale bar and scale. */
  assert_contains (text, "Tỷ lệ 1:5.000");
  assert_contains (text, "300 m");
  /* Grid: 200 m lines, Vietnamese grouping. */
  assert_contains (text, "457.800");
  assert_contains (text, "1.403.200");
  /* Legend and plot labels. */
  assert_contains (text, "Chú giải");
  assert_contains (text, "Đường giao thông");
  assert_contains (text, " ha");
  /* Table: header, decimal comma, the rest counted. */
  assert_contains (text, "Số thửa");
  assert_contains (text, "Diện tích (m²)");
  assert_contains (text, "dòng nữa");
  assert_contains (text, "Trang 1/1");
  g_assert_null (strstr (text, "{page}"));
}

/* The legend shows only the zoning functions found in the frame. */
static void
test_legend_visible_only (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "legend.pdf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *json = NULL;
  g_autoptr(GHashTable) inside = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  double ext[4] = { CX - 150, CY - 100, CX + 150, CY + 100 };
  guint absent = 0;

  if (!have_pdftotext ())
    return;
  g_assert_cmpint (sqlite3_open_v2 (f->path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT DISTINCT t.chuc_nang FROM idx_zoning_geom AS r "
                                       "JOIN zoning AS t ON t.fid = r.pkid WHERE r.xmin <= ?3 AND "
                                       "r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?2",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, ext[i]);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_add (inside, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT DISTINCT chuc_nang FROM zoning", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (all, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert_cmpuint (g_hash_table_size (inside), >, 0);

  /* The frame shows exactly @ext: 300 m × 200 m at 1:2 000. */
  json = g_strdup_printf ("{ \"name\": \"l\", \"page\": {\"size\": \"A3\", \"orientation\": \"landscape\"},"
                          "  \"items\": ["
                          "  {\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10, \"w\": 150, \"h\": 100,"
                          "   \"scale\": 2000, \"center\": [%.1f, %.1f], \"layers\": [\"zoning\"]},"
                          "  {\"type\": \"legend\", \"map\": \"map\", \"x\": 200, \"y\": 10, \"w\": 150, \"h\": 200}"
                          "  ]}", CX, CY);
  g_assert_true (print_json (f, json, out, &error));
  g_assert_no_error (error);
  text = pdf_text (out);
  for (guint i = 0; i < all->len; i++)
    {
      const char *v = all->pdata[i];

      if (g_hash_table_contains (inside, v))
        assert_contains (text, v);
      else
        {
          g_assert_null (strstr (text, v));
          absent++;
        }
    }
  g_test_message ("%u functions in the frame, %u left out", g_hash_table_size (inside), absent);
}

/* A long legend is set in columns and shrinks rather than being cut. */
static void
test_legend_columns (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "columns.pdf", NULL);
  g_autofree char *text = NULL;
  const char json[] =
    "{ \"name\": \"c\", \"page\": {\"size\": \"A4\", \"orientation\": \"landscape\"},"
    "  \"items\": ["
    "  {\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10, \"w\": 150, \"h\": 150},"
    "  {\"type\": \"legend\", \"map\": \"map\", \"x\": 170, \"y\": 10, \"w\": 110, \"h\": 45}"
    "  ]}";

  if (!have_pdftotext ())
    return;
  g_assert_true (print_json (f, json, out, &error));
  g_assert_no_error (error);
  text = pdf_text (out);
  /* The last layer of the legend (the bottom one) is still printed. */
  assert_contains (text, "Chú giải");
  assert_contains (text, "Thửa đất");
  assert_contains (text, "Trạm quan trắc");
}

/* ---- bad items ------------------------------------------------------------ */

static void
assert_print_fails (Fixture *f, const char *item, GQuark domain, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "bad.pdf", NULL);
  g_autofree char *json = g_strdup_printf ("{ \"name\": \"b\", \"page\": {\"size\": \"A4\"},"
                                           "  \"items\": ["
                                           "  {\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10,"
                                           "   \"w\": 100, \"h\": 100, \"layers\": [\"zoning\"]}, %s ]}",
                                           item);

  g_assert_false (print_json (f, json, out, &error));
  g_assert_error (error, domain, code);
  if (strstr (error->message, needle) == NULL)
    g_test_message ("message: %s", error->message);
  g_assert_nonnull (strstr (error->message, needle));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_bad_items (Fixture *f, gconstpointer data)
{
  assert_print_fails (f, "{\"type\": \"table\", \"x\": 10, \"y\": 120, \"w\": 100, \"h\": 50,"
                         " \"layer\": \"parcels\", \"fields\": [\"so_thua\", \"khong_co\"]}",
                      DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND, "khong_co");
  assert_print_fails (f, "{\"type\": \"table\", \"x\": 10, \"y\": 120, \"w\": 100, \"h\": 50,"
                         " \"layer\": \"parcels\", \"where\": \"dien_tich >\"}",
                      DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA, "parcels");
  assert_print_fails (f, "{\"type\": \"table\", \"x\": 10, \"y\": 120, \"w\": 100, \"h\": 50,"
                         " \"layer\": \"parcels\", \"where\": \"khong_co = 1\"}",
                      DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND, "parcels");
  assert_print_fails (f, "{\"type\": \"image\", \"x\": 10, \"y\": 120, \"w\": 30, \"h\": 30,"
                         " \"path\": \"/nonexistent/logo.png\"}",
                      DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND, "/nonexistent/logo.png");
}

/* A table's condition is data, never SQL. */
static void
test_table_where (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "where.pdf", NULL);
  g_autofree char *text = NULL;
  const char json[] =
    "{ \"name\": \"t\", \"page\": {\"size\": \"A4\"},"
    "  \"items\": ["
    "  {\"type\": \"table\", \"x\": 10, \"y\": 10, \"w\": 190, \"h\": 100, \"layer\": \"parcels\","
    "   \"fields\": [\"so_thua\", \"muc_dich\"], \"where\": \"muc_dich = 'x'' OR 1=1 --'\"}"
    "  ]}";

  if (!have_pdftotext ())
    return;
  g_assert_true (print_json (f, json, out, &error));
  g_assert_no_error (error);
  text = pdf_text (out);
  assert_contains (text, "Số thửa");
  /* No row matches: only the header. */
  g_assert_null (strstr (text, "ODT"));
  g_assert_null (strstr (text, "dòng nữa"));
}

/* A PNG image beside the project, named relative to it. */
static void
test_image (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "image.pdf", NULL);
  g_autofree char *png = g_build_filename (f->dir, "logo.png", NULL);
  g_autofree char *contents = NULL;
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 40, 20);
  cairo_t *cr = cairo_create (s);
  gsize len = 0;
  const char json[] =
    "{ \"name\": \"i\", \"page\": {\"size\": \"A4\"},"
    "  \"items\": [ {\"type\": \"image\", \"x\": 10, \"y\": 10, \"w\": 50, \"h\": 50, \"path\": \"logo.png\"} ]}";

  cairo_set_source_rgb (cr, 0.8, 0.1, 0.1);
  cairo_paint (cr);
  cairo_destroy (cr);
  g_assert_cmpint (cairo_surface_write_to_png (s, png), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (s);

  g_assert_true (print_json (f, json, out, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (out, &contents, &len, NULL));
  /* The image is embedded. */
  g_assert_nonnull (memmem (contents, len, "/Image", strlen ("/Image")));
}

int
main (int argc, char **argv)
{
  int ret;

  dothi_test_init (&argc, &argv);
  shared_dir = dothi_test_mkdtemp ();

  g_test_add_func ("/print/items/format-number", test_format_number);
  g_test_add_func ("/print/items/nice-length", test_nice_length);
  g_test_add_func ("/print/items/text-layout", test_text_layout);
  g_test_add ("/print/items/page", Fixture, NULL, fixture_set_up, test_page, fixture_tear_down);
  g_test_add ("/print/items/legend/visible-only", Fixture, NULL, fixture_set_up,
              test_legend_visible_only, fixture_tear_down);
  g_test_add ("/print/items/legend/columns", Fixture, NULL, fixture_set_up,
              test_legend_columns, fixture_tear_down);
  g_test_add ("/print/items/bad-items", Fixture, NULL, fixture_set_up, test_bad_items,
              fixture_tear_down);
  g_test_add ("/print/items/table/where", Fixture, NULL, fixture_set_up, test_table_where,
              fixture_tear_down);
  g_test_add ("/print/items/image", Fixture, NULL, fixture_set_up, test_image, fixture_tear_down);

  ret = g_test_run ();
  dothi_test_rmdir (shared_dir);
  g_free (shared_dir);
  g_free (demo_project);
  return ret;
}
