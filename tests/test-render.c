/* test-render.c: the map renderer on real project files: pixels where a
 * parcel is, nothing where none is, level of detail within 2 % of a
 * reference render, the disk cache and its exact invalidation, changes
 * by another program, a query result's highlight (never cached), and
 * dothi-cli render. */

#include "config.h"
#include "test-util.h"
#include "dothi-change-watcher.h"
#include "dothi-error.h"
#include "dothi-map-transform.h"
#include "dothi-project.h"
#include "dothi-render-pool.h"
#include "dothi-tile-cache.h"
#include "dothi-tile-renderer.h"

#include <cairo.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

/* Buôn Ma Thuột, VN-2000 TM-3 108°30′ (EPSG:9218). */
#define X0 457000.0
#define Y0 1402000.0

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

static void
put_u32 (GByteArray *a, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (a, (guint8 *) &v, 4);
}

static void
put_f64 (GByteArray *a, double d)
{
  guint64 u;

  memcpy (&u, &d, 8);
  u = GUINT64_TO_LE (u);
  g_byte_array_append (a, (guint8 *) &u, 8);
}

/* ISO WKB of a one-polygon MultiPolygon: the square [x, x+s] × [y, y+s]. */
static GByteArray *
square_wkb (double x, double y, double s)
{
  GByteArray *a = g_byte_array_new ();
  guint8 le = 1;

  g_byte_array_append (a, &le, 1);
  put_u32 (a, 6);
  put_u32 (a, 1);
  g_byte_array_append (a, &le, 1);
  put_u32 (a, 3);
  put_u32 (a, 1);
  put_u32 (a, 5);
  put_f64 (a, x);     put_f64 (a, y);
  put_f64 (a, x + s); put_f64 (a, y);
  put_f64 (a, x + s); put_f64 (a, y + s);
  put_f64 (a, x);     put_f64 (a, y + s);
  put_f64 (a, x);     put_f64 (a, y);
  return a;
}

/* A layer of n × n square parcels of side @side, @gap apart, land use
 * alternating ODT and CLN; fid 1 is the south-west one. */
static void
create_parcels (DothiProject *project, guint n, double side, double gap)
{
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GError) error = NULL;

  info->name = g_strdup ("parcels");
  info->title = g_strdup ("Thửa đất");
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->srid = 9218;
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "muc_dich", DOTHI_FIELD_TEXT);
  g_assert_true (dothi_store_begin (store, "Nhập thửa đất", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  for (guint j = 0; j < n; j++)
    for (guint i = 0; i < n; i++)
      {
        g_autoptr(GByteArray) wkb = square_wkb (X0 + i * (side + gap), Y0 + j * (side + gap), side);
        DothiValue values[2] = { 0 };

        values[0].v.i = j * n + i + 1;
        values[1].v.s = (i + j) % 2 ? "CLN" : "ODT";
        g_assert_true (dothi_store_insert_feature (store, "parcels", values, wkb->data, wkb->len, &error));
        g_assert_no_error (error);
      }
  g_assert_true (dothi_store_finish_layer (store, "parcels", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  f->project = dothi_project_create (f->path, "EPSG:9218", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static DothiRenderLayer *
parcels_layer (DothiProject *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_render_layers_for_project (project, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 1);
  return dothi_render_layer_ref (layers->pdata[0]);
}

/* The block at @zoom holding the project point (x, y), and the point's
 * pixel inside it, computed with PROJ exactly. */
static void
block_at (int zoom, double x, double y, DothiBlock *block, double *px, double *py)
{
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  double mx, my, res = dothi_mercator_resolution (zoom);
  double gx, gy;

  g_assert_true (dothi_map_transform_to_mercator (t, x, y, &mx, &my));
  gx = (mx + DOTHI_MERCATOR_HALF_WORLD) / res;
  gy = (DOTHI_MERCATOR_HALF_WORLD - my) / res;
  *block = (DothiBlock) { res, (gint64) floor (gx / 256), (gint64) floor (gy / 256), 256 };
  *px = gx - block->x * 256;
  *py = gy - block->y * 256;
}

static cairo_surface_t *
draw_block (DothiTileRenderer *r, DothiRenderLayer *layer, const DothiBlock *block,
            DothiRenderFlags flags, guint *n_drawn)
{
  g_autoptr(GError) error = NULL;
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, block->size, block->size);
  cairo_t *cr = cairo_create (s);

  g_assert_true (dothi_tile_renderer_draw (r, layer, block, 1.0, flags, cr, n_drawn, NULL, &error));
  g_assert_no_error (error);
  cairo_destroy (cr);
  cairo_surface_flush (s);
  return s;
}

static guint32
pixel (cairo_surface_t *s, int x, int y)
{
  const guint8 *data = cairo_image_surface_get_data (s);

  return *(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (s) + 4 * x);
}

static void
test_tile_fill (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderLayer) layer = NULL;
  g_autoptr(DothiTileRenderer) r = NULL;
  DothiBlock block = { 0 };
  double px, py;
  cairo_surface_t *s;
  guint n = 0;
  DothiColor odt;

  create_parcels (f->project, 2, 40, 20);
  layer = parcels_layer (f->project);
  r = dothi_tile_renderer_new (f->path, &error);
  g_assert_no_error (error);

  /* Inside parcel 1 (ODT), at zoom 18 (0.6 m/px): its land-use colour. */
  block_at (18, X0 + 20, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (n, >=, 1);
  g_assert_true (dothi_style_land_use_color ("ODT", &odt));
  g_assert_cmphex (pixel (s, (int) px, (int) py), ==,
                   0xff000000u | (guint32) lrint (odt.r * 255) << 16
                   | (guint32) lrint (odt.g * 255) << 8 | (guint32) lrint (odt.b * 255));
  cairo_surface_destroy (s);

  /* In the 20 m gap between parcels: nothing drawn. */
  block_at (18, X0 + 50, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmphex (pixel (s, (int) px, (int) py), ==, 0);
  cairo_surface_destroy (s);
}

static void
test_tile_outside (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderLayer) layer = NULL;
  g_autoptr(DothiTileRenderer) r = NULL;
  DothiBlock block = { 0 };
  double px, py;
  cairo_surface_t *s;
  guint n = 99;

  create_parcels (f->project, 2, 40, 20);
  layer = parcels_layer (f->project);
  r = dothi_tile_renderer_new (f->path, &error);
  g_assert_no_error (error);

  /* 5 km away: the block is empty and no feature was read. */
  block_at (17, X0 + 5000, Y0 + 5000, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (n, ==, 0);
  for (int y = 0; y < 256; y += 4)
    for (int x = 0; x < 256; x += 4)
      g_assert_cmphex (pixel (s, x, y), ==, 0);
  cairo_surface_destroy (s);
}

/* The control-point grid places a corner within a pixel of where PROJ
 * puts it, at 3.7 cm per pixel. */
static void
test_tile_transform (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderLayer) layer = NULL;
  g_autoptr(DothiTileRenderer) r = NULL;
  DothiBlock block = { 0 };
  double px, py;
  cairo_surface_t *s;
  guint n;

  create_parcels (f->project, 1, 40, 0);
  layer = parcels_layer (f->project);
  r = dothi_tile_renderer_new (f->path, &error);
  g_assert_no_error (error);

  /* The north-east corner of the parcel: inside just south-west of it,
   * outside just north-east. */
  block_at (22, X0 + 40, Y0 + 40, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (pixel (s, (int) px - 2, (int) py + 2) >> 24, ==, 0xff);
  g_assert_cmpuint (pixel (s, (int) px + 2, (int) py - 2) >> 24, ==, 0);
  cairo_surface_destroy (s);
}

static double
differing_share (cairo_surface_t *a, cairo_surface_t *b)
{
  int w = cairo_image_surface_get_width (a), h = cairo_image_surface_get_height (a);
  guint differ = 0;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint32 pa = pixel (a, x, y), pb = pixel (b, x, y);

        for (int c = 0; c < 32; c += 8)
          if (ABS ((int) ((pa >> c) & 0xff) - (int) ((pb >> c) & 0xff)) > 24)
            {
              differ++;
              break;
            }
      }
  return (double) differ / (w * h);
}

typedef struct {
  guint  n;        /* n × n parcels */
  double side;     /* metres */
  double gap;
  int    pixels;   /* image size */
} LodCase;

/* 40 000 parcels of 6 m at about 9.6 m per pixel: nearly all below a
 * pixel, merged as coverage. */
static const LodCase lod_subpixel = { 200, 6, 1, 160 };
/* 22 500 parcels of 15 m at about 8 m per pixel: one to two pixels,
 * drawn from their exact area. */
static const LodCase lod_small = { 150, 15, 2, 320 };

static void
test_lod (Fixture *f, gconstpointer data)
{
  const LodCase *lc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderPool) pool = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  double span = lc->n * (lc->side + lc->gap);
  double bbox[4] = { X0 - 100, Y0 - 100, X0 + span + 100, Y0 + span + 100 };
  double merc[4];
  cairo_surface_t *lod, *ref;
  double share;

  create_parcels (f->project, lc->n, lc->side, lc->gap);
  layers = dothi_render_layers_for_project (f->project, &error);
  g_assert_no_error (error);
  pool = dothi_render_pool_new (f->path, NULL, 2, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_map_transform_bbox_to_mercator (t, bbox, merc));

  lod = dothi_render_pool_render_sync (pool, layers, merc, lc->pixels, lc->pixels,
                                       DOTHI_RENDER_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  ref = dothi_render_pool_render_sync (pool, layers, merc, lc->pixels, lc->pixels,
                                       DOTHI_RENDER_REFERENCE, NULL, &error);
  g_assert_no_error (error);
  if (g_getenv ("DOTHI_TEST_DUMP"))
    {
      cairo_surface_write_to_png (lod, "lod.png");
      cairo_surface_write_to_png (ref, "ref.png");
    }
  share = differing_share (lod, ref);
  g_test_message ("level of detail differs from the reference in %.2f %% of pixels", share * 100);
  g_assert_cmpfloat (share, <=, 0.02);
  /* And it did draw something: the city is not blank. */
  g_assert_cmpuint (pixel (lod, lc->pixels / 2, lc->pixels / 2) >> 24, >, 0x80);
  cairo_surface_destroy (lod);
  cairo_surface_destroy (ref);
}

/* An UPDATE from another connection, as QGIS or the spatialite shell
 * would make it. */
static void
external_update (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  sqlite3_close (db);
}

static void
test_cache_invalidation (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderPool) pool = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiChangeWatcher) watcher = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  double bbox[4] = { X0, Y0, X0 + 10 * 60, Y0 + 10 * 60 };
  double merc[4];
  cairo_surface_t *s;
  guint rendered, hits, total;
  gboolean registry = TRUE;

  create_parcels (f->project, 10, 40, 20);
  layers = dothi_render_layers_for_project (f->project, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_map_transform_bbox_to_mercator (t, bbox, merc));
  watcher = dothi_change_watcher_new (f->path, &error);
  g_assert_no_error (error);
  pool = dothi_render_pool_new (f->path, dothi_project_get_uuid (f->project), 2, &error);
  g_assert_no_error (error);

  /* Cold: every block drawn. Warm: every block from the cache. */
  s = dothi_render_pool_render_sync (pool, layers, merc, 2048, 2048, 0, NULL, &error);
  g_assert_no_error (error);
  cairo_surface_destroy (s);
  dothi_render_pool_wait_cache (pool);
  total = dothi_render_pool_get_n_rendered (pool);
  g_assert_cmpuint (total, >=, 16);
  g_assert_cmpuint (dothi_render_pool_get_n_cache_hits (pool), ==, 0);
  s = dothi_render_pool_render_sync (pool, layers, merc, 2048, 2048, 0, NULL, &error);
  g_assert_no_error (error);
  cairo_surface_destroy (s);
  g_assert_cmpuint (dothi_render_pool_get_n_rendered (pool), ==, total);
  g_assert_cmpuint (dothi_render_pool_get_n_cache_hits (pool), ==, total);
  dothi_render_pool_wait_cache (pool);

  /* Nothing changed: the watcher says so. */
  changes = dothi_change_watcher_poll_sync (watcher, &registry, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 0);
  g_assert_false (registry);
  g_clear_pointer (&changes, g_ptr_array_unref);

  /* Another program changes parcel 1 (the south-west corner). */
  external_update (f->path, "UPDATE parcels SET muc_dich = 'LUC' WHERE fid = 1");
  changes = dothi_change_watcher_poll_sync (watcher, &registry, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 1);
  g_assert_cmpstr (((DothiChange *) changes->pdata[0])->layer, ==, "parcels");
  g_assert_false (((DothiChange *) changes->pdata[0])->everywhere);
  dothi_render_pool_invalidate (pool, "parcels", ((DothiChange *) changes->pdata[0])->bbox);

  /* Only the blocks the parcel touches are drawn again. */
  rendered = dothi_render_pool_get_n_rendered (pool);
  hits = dothi_render_pool_get_n_cache_hits (pool);
  s = dothi_render_pool_render_sync (pool, layers, merc, 2048, 2048, 0, NULL, &error);
  g_assert_no_error (error);
  cairo_surface_destroy (s);
  g_assert_cmpuint (dothi_render_pool_get_n_rendered (pool) - rendered, >=, 1);
  g_assert_cmpuint (dothi_render_pool_get_n_rendered (pool) - rendered, <=, 4);
  g_assert_cmpuint (dothi_render_pool_get_n_cache_hits (pool) - hits, >=, total - 4);
}

/* A pool opened later catches up with edits made while it was closed. */
static void
test_cache_catch_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  double bbox[4] = { X0, Y0, X0 + 10 * 60, Y0 + 10 * 60 };
  double merc[4];
  cairo_surface_t *s;
  DothiRenderPool *pool;

  create_parcels (f->project, 10, 40, 20);
  layers = dothi_render_layers_for_project (f->project, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_map_transform_bbox_to_mercator (t, bbox, merc));

  pool = dothi_render_pool_new (f->path, dothi_project_get_uuid (f->project), 2, &error);
  g_assert_no_error (error);
  s = dothi_render_pool_render_sync (pool, layers, merc, 2048, 2048, 0, NULL, &error);
  g_assert_no_error (error);
  cairo_surface_destroy (s);
  g_object_unref (pool);

  external_update (f->path, "UPDATE parcels SET muc_dich = 'LUC' WHERE fid = 100");
  pool = dothi_render_pool_new (f->path, dothi_project_get_uuid (f->project), 2, &error);
  g_assert_no_error (error);
  s = dothi_render_pool_render_sync (pool, layers, merc, 2048, 2048, 0, NULL, &error);
  g_assert_no_error (error);
  cairo_surface_destroy (s);
  g_assert_cmpuint (dothi_render_pool_get_n_rendered (pool), >=, 1);
  g_assert_cmpuint (dothi_render_pool_get_n_rendered (pool), <=, 4);
  g_object_unref (pool);
}

/* The spatialite shell moves a parcel: the watcher reports the area it
 * left and the area it reached. */
static void
test_watcher_spatialite_cli (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeWatcher) watcher = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autofree char *spatialite = g_find_program_in_path ("spatialite");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  const char *argv[] = { spatialite, f->path,
                         "UPDATE parcels SET geom = ST_Translate(geom, 500, 0, 0) WHERE fid = 1;",
                         NULL };
  int status = 0;
  DothiChange *change;
  double mx, my;

  if (spatialite == NULL)
    {
      g_test_skip ("the spatialite shell (spatialite-bin) is not installed");
      return;
    }
  create_parcels (f->project, 2, 40, 20);
  watcher = dothi_change_watcher_new (f->path, &error);
  g_assert_no_error (error);

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  changes = dothi_change_watcher_poll_sync (watcher, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 1);
  change = changes->pdata[0];
  g_assert_false (change->everywhere);
  /* The bbox covers the old place and the new one, 500 m east. */
  g_assert_true (dothi_map_transform_to_mercator (t, X0 + 20, Y0 + 20, &mx, &my));
  g_assert_cmpfloat (change->bbox[0], <=, mx);
  g_assert_true (dothi_map_transform_to_mercator (t, X0 + 520, Y0 + 20, &mx, &my));
  g_assert_cmpfloat (change->bbox[2], >=, mx);
  g_assert_cmpfloat (change->bbox[1], <=, my);
  g_assert_cmpfloat (change->bbox[3], >=, my);
}

/* A layer whose style stops at 5 m per pixel draws at zoom 18 (0.6 m)
 * and nothing at zoom 13 (19 m). */
static void
test_scale_visibility (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderLayer) layer = NULL;
  g_autoptr(DothiStyle) style = NULL;
  g_autoptr(DothiTileRenderer) r = NULL;
  DothiBlock block = { 0 };
  double px, py;
  cairo_surface_t *s;
  guint n = 0;

  create_parcels (f->project, 2, 40, 20);
  style = dothi_project_dup_style (f->project, "parcels", &error);
  g_assert_no_error (error);
  style->max_resolution = 5.0;
  g_assert_true (dothi_project_set_style (f->project, "parcels", style, &error));
  g_assert_no_error (error);
  layer = parcels_layer (f->project);
  g_assert_cmpfloat (layer->style->max_resolution, ==, 5.0);
  r = dothi_tile_renderer_new (f->path, &error);
  g_assert_no_error (error);

  block_at (18, X0 + 20, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (pixel (s, (int) px, (int) py) >> 24, ==, 0xff);
  cairo_surface_destroy (s);

  block_at (13, X0 + 20, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (n, ==, 0);
  g_assert_cmphex (pixel (s, (int) px, (int) py), ==, 0);
  cairo_surface_destroy (s);
}

static void
test_labels (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderLayer) layer = NULL;
  g_autoptr(DothiTileRenderer) r = NULL;
  g_autoptr(GPtrArray) labels = NULL;
  g_autoptr(GPtrArray) coarse = NULL;
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  double bbox[4] = { X0 - 10, Y0 - 10, X0 + 130, Y0 + 130 }, merc[4];

  create_parcels (f->project, 2, 40, 20);
  layer = parcels_layer (f->project);
  g_assert_cmpstr (layer->style->label_field, ==, "so_thua");
  r = dothi_tile_renderer_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_map_transform_bbox_to_mercator (t, bbox, merc));

  labels = dothi_tile_renderer_labels (r, layer, merc, 0.3, 100, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (labels->len, ==, 4);
  /* Too far out for parcel numbers: none. */
  coarse = dothi_tile_renderer_labels (r, layer, merc, 20, 100, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (coarse->len, ==, 0);
}

/* ---- query results: highlight layers -------------------------------- */

static DothiRenderLayer *
selection_layer (DothiProject *project, const gint64 *fids, guint n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (project, "parcels", &error);
  g_autoptr(DothiFidSet) set = dothi_fid_set_new_sorted (fids, n);
  DothiRenderLayer *layer;

  g_assert_no_error (error);
  layer = dothi_render_layer_new_selection (info, set);
  g_assert_true (layer->selection == set);
  g_assert_true (layer->visible);
  g_assert_cmpfloat (layer->opacity, ==, 1.0);
  return layer;
}

/* Premultiplied ARGB: the highlight is a cyan, blue above green, no red. */
static gboolean
is_highlight (guint32 p)
{
  guint a = p >> 24, r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;

  return a > 0x40 && r < 0x20 && b >= g && b > 0x40;
}

/* Parcels 1 and 4 of four selected: theirs highlighted, inside and on the
 * outline, the others' pixels transparent and not even read. */
static void
test_selection_tile (Fixture *f, gconstpointer data)
{
  static const gint64 fids[] = { 1, 4 };
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderLayer) layer = NULL;
  g_autoptr(DothiTileRenderer) r = NULL;
  DothiBlock block = { 0 };
  double px, py;
  cairo_surface_t *s;
  guint n = 0;

  create_parcels (f->project, 2, 40, 20);
  layer = selection_layer (f->project, fids, G_N_ELEMENTS (fids));
  r = dothi_tile_renderer_new (f->path, &error);
  g_assert_no_error (error);

  /* Inside parcel 1 (south-west): the translucent fill, 45 % cyan. */
  block_at (18, X0 + 20, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (n, <=, 2);
  g_assert_true (is_highlight (pixel (s, (int) px, (int) py)));
  g_assert_cmpuint (pixel (s, (int) px, (int) py) >> 24, <, 0xc0);
  cairo_surface_destroy (s);

  /* On its west edge: the cased outline, nearly opaque. */
  block_at (18, X0, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmpuint (pixel (s, (int) px, (int) py) >> 24, >=, 0xe0);
  cairo_surface_destroy (s);

  /* Inside parcels 2 (south-east) and 3 (north-west): nothing. */
  block_at (18, X0 + 80, Y0 + 20, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmphex (pixel (s, (int) px, (int) py), ==, 0);
  cairo_surface_destroy (s);
  block_at (18, X0 + 20, Y0 + 80, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_cmphex (pixel (s, (int) px, (int) py), ==, 0);
  cairo_surface_destroy (s);

  /* Parcel 4 (north-east) is highlighted too. */
  block_at (18, X0 + 80, Y0 + 80, &block, &px, &py);
  s = draw_block (r, layer, &block, 0, &n);
  g_assert_true (is_highlight (pixel (s, (int) px, (int) py)));
  cairo_surface_destroy (s);

  /* Far from the parcels (a block of only unselected ones would be the
   * same): no feature drawn. */
  {
    static const gint64 only_two[] = { 2 };
    g_autoptr(DothiRenderLayer) two = selection_layer (f->project, only_two, 1);

    block_at (22, X0 + 20, Y0 + 20, &block, &px, &py);
    s = draw_block (r, two, &block, 0, &n);
    g_assert_cmpuint (n, ==, 0);
    for (int y = 0; y < 256; y += 8)
      for (int x = 0; x < 256; x += 8)
        g_assert_cmphex (pixel (s, x, y), ==, 0);
    cairo_surface_destroy (s);
  }
}

static int
count_cached_blocks (const char *uuid, const char *where)
{
  g_autofree char *path = dothi_tile_cache_path_for (uuid);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM blocks%s", where);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int n;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

typedef struct {
  gboolean   done;
  DothiTile *tile;
} TileWait;

static void
tile_ready_cb (DothiRenderPool *pool, DothiTile *tile, const GError *error, gpointer data)
{
  TileWait *wait = data;

  g_assert_no_error ((GError *) error);
  wait->tile = dothi_tile_ref (tile);
  wait->done = TRUE;
}

/* One map tile through the pool, as the map asks for it. */
static DothiTile *
request_tile (DothiRenderPool *pool, DothiRenderLayer *layer, const DothiBlock *block)
{
  TileWait wait = { FALSE, NULL };

  dothi_render_pool_request (pool, layer, block, 1.0, 1, NULL, tile_ready_cb, &wait, NULL);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  return wait.tile;
}

/* Thousands of parcels of a pixel or less, the western half selected:
 * level of detail draws only the selected ones, close to a reference
 * render; no block of the selection ever reaches the disk cache, while
 * the same blocks of the layer do. */
static void
test_selection_lod_cache (Fixture *f, gconstpointer data)
{
  const LodCase *lc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiRenderPool) pool = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) selected = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(DothiMapTransform) t = dothi_map_transform_new (9218, NULL);
  g_autoptr(DothiTile) tile = NULL;
  g_autoptr(DothiTile) plain = NULL;
  const char *uuid = dothi_project_get_uuid (f->project);
  double span = lc->n * (lc->side + lc->gap);
  double bbox[4] = { X0 - 100, Y0 - 100, X0 + span + 100, Y0 + span + 100 };
  double merc[4], px, py, share;
  cairo_surface_t *lod, *ref;
  DothiBlock block = { 0 };
  guint hits;
  int w = lc->pixels;

  create_parcels (f->project, lc->n, lc->side, lc->gap);
  for (guint j = 0; j < lc->n; j++)
    for (guint i = 0; i < lc->n / 2; i++)
      {
        gint64 fid = j * lc->n + i + 1;

        g_array_append_val (fids, fid);
      }
  g_ptr_array_add (selected, selection_layer (f->project, (const gint64 *) fids->data, fids->len));
  layers = dothi_render_layers_for_project (f->project, &error);
  g_assert_no_error (error);
  pool = dothi_render_pool_new (f->path, uuid, 2, &error);
  g_assert_no_error (error);
  g_assert_true (dothi_map_transform_bbox_to_mercator (t, bbox, merc));

  lod = dothi_render_pool_render_sync (pool, selected, merc, w, w, DOTHI_RENDER_DEFAULT,
                                       NULL, &error);
  g_assert_no_error (error);
  ref = dothi_render_pool_render_sync (pool, selected, merc, w, w, DOTHI_RENDER_REFERENCE,
                                       NULL, &error);
  g_assert_no_error (error);
  if (g_getenv ("DOTHI_TEST_DUMP"))
    {
      cairo_surface_write_to_png (lod, "selection-lod.png");
      cairo_surface_write_to_png (ref, "selection-ref.png");
    }
  /* The western half highlighted, the eastern half left transparent. */
  g_assert_true (is_highlight (pixel (lod, w / 4 + 5, w / 2)));
  g_assert_cmphex (pixel (lod, 3 * w / 4 - 5, w / 2), ==, 0);
  g_assert_true (is_highlight (pixel (ref, w / 4 + 5, w / 2)));
  g_assert_cmphex (pixel (ref, 3 * w / 4 - 5, w / 2), ==, 0);
  share = differing_share (lod, ref);
  g_test_message ("the selection's level of detail differs in %.2f %% of pixels", share * 100);
  /* Sub-pixel parcels are splatted as 0.9 of their bbox (real parcels
   * are turned quadrilaterals); these are axis-aligned squares, which a
   * one-colour reference fills whole: 2.6 % of pixels then differ by a
   * little more than the 24 levels allowed, by 30 at most. */
  g_assert_cmpfloat (share, <=, lc == &lod_subpixel ? 0.03 : 0.02);
  cairo_surface_destroy (lod);
  cairo_surface_destroy (ref);

  /* A map tile of the selection, from the pool. */
  block_at (14, X0 + span / 4, Y0 + span / 2, &block, &px, &py);
  tile = request_tile (pool, selected->pdata[0], &block);
  g_assert_nonnull (tile->pixels);
  g_assert_false (tile->from_cache);

  /* Nothing of the selection on disk: not the tile, not a composite. */
  dothi_render_pool_wait_cache (pool);
  g_assert_cmpint (count_cached_blocks (uuid, ""), ==, 0);

  /* The layer itself is cached, tile and composite. */
  plain = request_tile (pool, layers->pdata[0], &block);
  g_assert_false (plain->from_cache);
  ref = dothi_render_pool_render_sync (pool, layers, merc, w, w, DOTHI_RENDER_DEFAULT,
                                       NULL, &error);
  g_assert_no_error (error);
  dothi_render_pool_wait_cache (pool);
  g_assert_cmpint (count_cached_blocks (uuid, " WHERE layer = 'parcels'"), >=, 1);
  g_assert_cmpint (count_cached_blocks (uuid, " WHERE layer = '@map'"), >=, 1);

  /* Asked again, the selection is drawn again, never read from there,
   * and a composite holding it neither. */
  hits = dothi_render_pool_get_n_cache_hits (pool);
  g_clear_pointer (&tile, dothi_tile_unref);
  tile = request_tile (pool, selected->pdata[0], &block);
  g_assert_false (tile->from_cache);
  g_assert_true (g_bytes_compare (tile->pixels, plain->pixels) != 0);
  g_ptr_array_add (layers, dothi_render_layer_ref (selected->pdata[0]));
  lod = dothi_render_pool_render_sync (pool, layers, merc, w, w, DOTHI_RENDER_DEFAULT,
                                       NULL, &error);
  g_assert_no_error (error);
  /* Over the layer: the western half changed, the eastern half not. */
  g_assert_cmphex (pixel (lod, w / 4 + 5, w / 2), !=, pixel (ref, w / 4 + 5, w / 2));
  g_assert_cmphex (pixel (lod, 3 * w / 4 - 5, w / 2), ==, pixel (ref, 3 * w / 4 - 5, w / 2));
  g_assert_cmpuint (pixel (lod, w / 4 + 5, w / 2) & 0xff, >, pixel (ref, w / 4 + 5, w / 2) & 0xff);
  cairo_surface_destroy (lod);
  cairo_surface_destroy (ref);
  g_assert_cmpuint (dothi_render_pool_get_n_cache_hits (pool), ==, hits);
  dothi_render_pool_wait_cache (pool);
  g_assert_cmpint (count_cached_blocks (uuid, " WHERE layer = 'parcels'"), ==, 1);
}

static void
test_cli (Fixture *f, gconstpointer data)
{
  const char *cli = g_getenv ("DOTHI_CLI");
  g_autofree char *png = g_build_filename (f->dir, "map.png", NULL);
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  cairo_surface_t *s;
  int status;

  if (cli == NULL)
    {
      g_test_skip ("DOTHI_CLI is not set");
      return;
    }
  create_parcels (f->project, 4, 40, 20);
  g_clear_object (&f->project);

  {
    const char *argv[] = { cli, "render", f->path, "--layer", "parcels", "--size", "320x200",
                           "--no-cache", "-o", png, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, &err, &status, &error));
    g_assert_no_error (error);
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  }
  s = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 320);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 200);
  /* The parcels cover much of the image (the gaps are white). */
  {
    guint coloured = 0;

    for (int y = 0; y < 200; y++)
      for (int x = 0; x < 320; x++)
        coloured += (pixel (s, x, y) & 0xffffff) != 0xffffff;
    g_assert_cmpuint (coloured, >, 320 * 200 / 5);
  }
  cairo_surface_destroy (s);

  /* A layer the project does not have: bad input, named. */
  g_clear_pointer (&err, g_free);
  {
    const char *argv[] = { cli, "render", f->path, "--layers", "nha", "-o", png, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, &err, &status, &error));
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_assert_nonnull (strstr (err, "nha"));
  }
  /* A malformed size: usage error. */
  g_clear_pointer (&err, g_free);
  {
    const char *argv[] = { cli, "render", f->path, "--size", "big", "-o", png, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, &err, &status, &error));
    g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  }
}

int
main (int argc, char **argv)
{
  g_autofree char *cache = NULL;

  dothi_test_init (&argc, &argv);
  /* The disk cache goes to a folder of the test's own. */
  cache = dothi_test_mkdtemp ();
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);

#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/render/tile/fill-colour", test_tile_fill);
  ADD ("/render/tile/outside", test_tile_outside);
  ADD ("/render/tile/control-points", test_tile_transform);
  g_test_add ("/render/lod/sub-pixel", Fixture, &lod_subpixel, fixture_set_up, test_lod,
              fixture_tear_down);
  g_test_add ("/render/lod/small-polygons", Fixture, &lod_small, fixture_set_up, test_lod,
              fixture_tear_down);
  ADD ("/render/labels", test_labels);
  ADD ("/render/scale-visibility", test_scale_visibility);
  ADD ("/render/cache/invalidate-bbox", test_cache_invalidation);
  ADD ("/render/cache/catch-up", test_cache_catch_up);
  ADD ("/render/selection/tile", test_selection_tile);
  g_test_add ("/render/selection/sub-pixel", Fixture, &lod_subpixel, fixture_set_up,
              test_selection_lod_cache, fixture_tear_down);
  g_test_add ("/render/selection/small-polygons", Fixture, &lod_small, fixture_set_up,
              test_selection_lod_cache, fixture_tear_down);
  ADD ("/render/watcher/spatialite-cli", test_watcher_spatialite_cli);
  ADD ("/render/cli", test_cli);
#undef ADD

  {
    int status = g_test_run ();
    dothi_test_rmdir (cache);
    return status;
  }
}
