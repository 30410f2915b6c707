/* test-mbtiles.c: the offline basemap reader on small MBTiles files made
 * here with SQLite and a PNG drawn by cairo. */
#include "config.h"
#include "test-util.h"

#include "dothi-error.h"
#include "dothi-mbtiles.h"

#include <cairo.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
} Fixture;

static cairo_status_t
append_png_cb (void                *closure,
               const unsigned char *data,
               unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* A 4 × 4 PNG of one colour, so each tile can be told apart. */
static GBytes *
make_png (double red)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 4, 4);
  cairo_t *cr = cairo_create (surface);
  GByteArray *array = g_byte_array_new ();

  cairo_set_source_rgb (cr, red, 0.5, 0.25);
  cairo_paint (cr);
  cairo_destroy (cr);
  g_assert_cmpint (cairo_surface_write_to_png_stream (surface, append_png_cb, array),
                   ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
  return g_byte_array_free_to_bytes (array);
}

static void
exec_sql (sqlite3 *db, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static void
insert_tile (sqlite3 *db, int zoom, int column, int row, GBytes *png)
{
  sqlite3_stmt *stmt = NULL;
  gsize size;
  const void *data = g_bytes_get_data (png, &size);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int (stmt, 1, zoom);
  sqlite3_bind_int (stmt, 2, column);
  sqlite3_bind_int (stmt, 3, row);
  sqlite3_bind_blob (stmt, 4, data, (int) size, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  sqlite3 *db = NULL;
  g_autoptr(GBytes) north = make_png (1.0);
  g_autoptr(GBytes) south = make_png (0.0);

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "basemap.mbtiles", NULL);
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  exec_sql (db,
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER,"
            " tile_row INTEGER, tile_data BLOB);"
            "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
            "INSERT INTO metadata VALUES ('name', 'Buôn Ma Thuột');"
            "INSERT INTO metadata VALUES ('format', 'png');"
            "INSERT INTO metadata VALUES ('minzoom', '0');"
            "INSERT INTO metadata VALUES ('maxzoom', '2');"
            "INSERT INTO metadata VALUES ('bounds', '107.9,12.6,108.1,12.75');");
  /* XYZ row 0 (north) is TMS row 3 at zoom 2; XYZ row 3 is TMS row 0. */
  insert_tile (db, 2, 1, 3, north);
  insert_tile (db, 2, 1, 0, south);
  sqlite3_close (db);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
test_metadata (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiMbtiles) mbtiles = dothi_mbtiles_open (f->path, &error);
  double bounds[4];

  g_assert_no_error (error);
  g_assert_nonnull (mbtiles);
  g_assert_cmpstr (dothi_mbtiles_get_name (mbtiles), ==, "Buôn Ma Thuột");
  g_assert_cmpstr (dothi_mbtiles_get_format (mbtiles), ==, "png");
  g_assert_cmpint (dothi_mbtiles_get_min_zoom (mbtiles), ==, 0);
  g_assert_cmpint (dothi_mbtiles_get_max_zoom (mbtiles), ==, 2);
  g_assert_true (dothi_mbtiles_get_bounds (mbtiles, bounds));
  g_assert_cmpfloat_with_epsilon (bounds[0], 107.9, 1e-9);
  g_assert_cmpfloat_with_epsilon (bounds[1], 12.6, 1e-9);
  g_assert_cmpfloat_with_epsilon (bounds[2], 108.1, 1e-9);
  g_assert_cmpfloat_with_epsilon (bounds[3], 12.75, 1e-9);
}

static guchar
first_red (GBytes *png)
{
  g_autofree char *file = NULL;
  cairo_surface_t *surface;
  guchar red;
  int fd;
  gsize size;
  const void *data = g_bytes_get_data (png, &size);

  /* cairo reads PNG from a file or a stream; a file keeps this short. */
  fd = g_file_open_tmp ("dothi-tile-XXXXXX.png", &file, NULL);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (file, data, (gssize) size, NULL));
  surface = cairo_image_surface_create_from_png (file);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_flush (surface);
  /* ARGB32 in native order: red is byte 2 on little-endian machines. */
  {
    guint32 pixel;

    memcpy (&pixel, cairo_image_surface_get_data (surface), sizeof pixel);
    red = (pixel >> 16) & 0xff;
  }
  cairo_surface_destroy (surface);
  g_unlink (file);
  return red;
}

static void
test_tms_flip (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiMbtiles) mbtiles = dothi_mbtiles_open (f->path, &error);
  g_autoptr(GBytes) north = NULL;
  g_autoptr(GBytes) south = NULL;

  g_assert_no_error (error);
  north = dothi_mbtiles_get_tile (mbtiles, 2, 1, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (north);
  south = dothi_mbtiles_get_tile (mbtiles, 2, 1, 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (south);
  g_assert_cmpint (first_red (north), ==, 255);
  g_assert_cmpint (first_red (south), ==, 0);
}

static void
test_missing_tile (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiMbtiles) mbtiles = dothi_mbtiles_open (f->path, &error);
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GBytes) outside = NULL;

  g_assert_no_error (error);
  none = dothi_mbtiles_get_tile (mbtiles, 2, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_null (none);
  /* Out of the zoom's grid: nothing, and no error either. */
  outside = dothi_mbtiles_get_tile (mbtiles, 2, 4, 0, &error);
  g_assert_no_error (error);
  g_assert_null (outside);
}

static void
test_not_mbtiles (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "notes.mbtiles", NULL);
  DothiMbtiles *mbtiles;

  g_assert_true (g_file_set_contents (path, "không phải bản đồ\n", -1, NULL));
  mbtiles = dothi_mbtiles_open (path, &error);
  g_assert_null (mbtiles);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_vector_tiles (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;
  DothiMbtiles *mbtiles;

  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  exec_sql (db, "UPDATE metadata SET value = 'pbf' WHERE name = 'format'");
  sqlite3_close (db);

  mbtiles = dothi_mbtiles_open (f->path, &error);
  g_assert_null (mbtiles);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, f->path));
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add ("/mbtiles/metadata", Fixture, NULL,
              fixture_set_up, test_metadata, fixture_tear_down);
  g_test_add ("/mbtiles/tile/tms-flip", Fixture, NULL,
              fixture_set_up, test_tms_flip, fixture_tear_down);
  g_test_add ("/mbtiles/tile/missing", Fixture, NULL,
              fixture_set_up, test_missing_tile, fixture_tear_down);
  g_test_add ("/mbtiles/open/not-mbtiles", Fixture, NULL,
              fixture_set_up, test_not_mbtiles, fixture_tear_down);
  g_test_add ("/mbtiles/open/vector-tiles", Fixture, NULL,
              fixture_set_up, test_vector_tiles, fixture_tear_down);

  return g_test_run ();
}
