/* dothi-print.c: pages of a layout drawn with cairo in millimetres: map
 * frames through the tile renderer in the project CRS (blocks of paper
 * pixels clipped to their own square, so a feature crossing two blocks
 * is not drawn twice), the other items by dothi-print-items.c. The file
 * is written under a temporary name and renamed when every page is done. */
#define G_LOG_DOMAIN "dothi-print"

#include "config.h"
#include "dothi-print.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-expression.h"
#include "dothi-print-private.h"
#include "dothi-spatialite-store.h"
#include "dothi-store.h"

#include <gdal.h>
#include <gdalwarper.h>
#include <cpl_conv.h>
#include <ogr_srs_api.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* Paper pixels a side of one renderer block. */
#define BLOCK_PX 1024
/* Millimetres of paper in a screen pixel at 96 dpi: styles are sized in
 * screen pixels and print at the size they show. */
#define MM_PER_SCREEN_PX (25.4 / 96.0)

struct _DothiPrinter {
  DothiPrintContext     ctx;
  DothiSpatialiteStore *store;
};

gboolean
dothi_print_format_for (const char *format, const char *path, DothiPrintFormat *out)
{
  static const struct { const char *name; DothiPrintFormat format; } names[] = {
    { "pdf", DOTHI_PRINT_PDF }, { "svg", DOTHI_PRINT_SVG }, { "png", DOTHI_PRINT_PNG },
  };
  const char *ext = NULL;

  if (format == NULL && path != NULL)
    {
      ext = strrchr (path, '.');
      if (ext == NULL || strchr (ext, G_DIR_SEPARATOR) != NULL)
        return FALSE;
      ext++;
    }
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (format != NULL ? format : ext, names[i].name) == 0)
      {
        *out = names[i].format;
        return TRUE;
      }
  return FALSE;
}

/* ---- the printer ---------------------------------------------------------- */

static DothiStyle *
style_for (DothiPrinter *printer, const DothiLayerInfo *info)
{
  if (info->style != NULL)
    {
      DothiStyle *style = dothi_style_new_from_json (info->style,
                                                     info->title ? info->title : info->name,
                                                     NULL);
      if (style != NULL)
        return style;
    }
  /* As the window does. */
  return dothi_spatialite_store_default_style (printer->store, info);
}

DothiPrinter *
dothi_printer_new (const char *project_path, GError **error)
{
  g_autoptr(DothiPrinter) printer = g_new0 (DothiPrinter, 1);
  DothiPrintContext *ctx = &printer->ctx;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (project_path != NULL, NULL);

  ctx->project_path = g_strdup (project_path);
  ctx->styles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) dothi_style_unref);
  ctx->vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx->maps = g_ptr_array_new ();
  ctx->recordings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) cairo_surface_destroy);
  printer->store = dothi_spatialite_store_open (project_path, DOTHI_STORE_OPEN_READ_ONLY, error);
  if (printer->store == NULL)
    return NULL;
  ctx->layers = dothi_store_list_layers (DOTHI_STORE (printer->store), error);
  if (ctx->layers == NULL)
    return NULL;
  for (guint i = 0; i < ctx->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (ctx->layers, i);

      if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
        g_hash_table_insert (ctx->styles, g_strdup (info->name), style_for (printer, info));
    }

  if (sqlite3_open_v2 (project_path, &ctx->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, SQLite's message */
                   _("Cannot open “%s”: %s"), project_path,
                   ctx->db != NULL ? sqlite3_errmsg (ctx->db) : "");
      return NULL;
    }
  sqlite3_exec (ctx->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
  sqlite3_busy_timeout (ctx->db, 5000);
  dothi_expression_register_functions (ctx->db);
  if (sqlite3_prepare_v2 (ctx->db, "SELECT value FROM dothi_meta WHERE key = 'crs'", -1,
                          &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    ctx->srid = dothi_crs_parse ((const char *) sqlite3_column_text (stmt, 0), NULL);
  if (ctx->srid <= 0)
    for (guint i = 0; i < ctx->layers->len && ctx->srid <= 0; i++)
      ctx->srid = ((const DothiLayerInfo *) g_ptr_array_index (ctx->layers, i))->srid;
  ctx->crs_name = ctx->srid > 0 ? dothi_crs_dup_name (ctx->srid) : NULL;
  if (ctx->crs_name == NULL)
    ctx->crs_name = g_strdup_printf ("EPSG:%d", ctx->srid);

  ctx->renderer = dothi_tile_renderer_new (project_path, error);
  if (ctx->renderer == NULL)
    return NULL;
  return g_steal_pointer (&printer);
}

static void
print_map_free (gpointer data, gpointer unused)
{
  DothiPrintMap *map = data;

  g_clear_pointer (&map->layers, g_ptr_array_unref);
  g_free (map);
}

void
dothi_printer_free (DothiPrinter *printer)
{
  DothiPrintContext *ctx;

  if (printer == NULL)
    return;
  ctx = &printer->ctx;
  g_clear_pointer (&ctx->renderer, dothi_tile_renderer_free);
  if (ctx->db != NULL)
    sqlite3_close (ctx->db);
  if (ctx->maps != NULL)
    {
      g_ptr_array_foreach (ctx->maps, print_map_free, NULL);
      g_ptr_array_unref (ctx->maps);
    }
  g_clear_pointer (&ctx->layers, g_ptr_array_unref);
  g_clear_pointer (&ctx->styles, g_hash_table_unref);
  g_clear_pointer (&ctx->vars, g_hash_table_unref);
  g_clear_pointer (&ctx->recordings, g_hash_table_unref);
  g_free (ctx->project_path);
  g_free (ctx->crs_name);
  if (printer->store != NULL)
    dothi_spatialite_store_close (printer->store);
  g_clear_object (&printer->store);
  g_free (printer);
}

DothiPrintContext *
dothi_printer_get_context (DothiPrinter *printer)
{
  return &printer->ctx;
}

/* ---- context helpers ------------------------------------------------------ */

DothiPrintMap *
dothi_print_context_find_map (DothiPrintContext *ctx, const char *id)
{
  for (guint i = 0; i < ctx->maps->len; i++)
    {
      DothiPrintMap *map = g_ptr_array_index (ctx->maps, i);

      if (id == NULL || g_strcmp0 (map->id, id) == 0)
        return map;
    }
  return NULL;
}

const DothiLayerInfo *
dothi_print_context_find_layer (DothiPrintContext *ctx, const char *name)
{
  for (guint i = 0; i < ctx->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (ctx->layers, i);

      if (g_strcmp0 (info->name, name) == 0)
        return info;
    }
  return NULL;
}

char *
dothi_print_expand (DothiPrintContext *ctx, const char *text)
{
  GString *out = g_string_new (NULL);
  const char *p = text;

  if (text == NULL)
    return g_string_free (out, FALSE);
  while (*p != '\0')
    {
      const char *close;

      if (*p == '{' && (close = strchr (p + 1, '}')) != NULL)
        {
          g_autofree char *name = g_strndup (p + 1, close - p - 1);
          const char *value = g_hash_table_lookup (ctx->vars, name);

          if (value != NULL)
            {
              g_string_append (out, value);
              p = close + 1;
              continue;
            }
        }
      g_string_append_c (out, *p++);
    }
  {
    g_autofree char *raw = g_string_free (out, FALSE);
    return g_utf8_normalize (raw, -1, G_NORMALIZE_NFC);
  }
}

/* ---- map frames ----------------------------------------------------------- */

static double
member_double (JsonObject *o, const char *name, double fallback)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return fallback;
  return json_node_get_double (node);
}

static gboolean
member_box (JsonObject *o, const char *name, double *out, guint n)
{
  JsonNode *node = json_object_get_member (o, name);
  JsonArray *a;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  a = json_node_get_array (node);
  if (json_array_get_length (a) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    out[i] = json_array_get_double_element (a, i);
  return TRUE;
}

/* The extent shown in a frame @w × @h mm centred on (@cx, @cy) at 1:@scale. */
static void
extent_at (double cx, double cy, double scale, double w, double h, double extent[4])
{
  double half_w = w * scale / 1000 / 2, half_h = h * scale / 1000 / 2;

  extent[0] = cx - half_w;
  extent[1] = cy - half_h;
  extent[2] = cx + half_w;
  extent[3] = cy + half_h;
}

/* The first of the scales maps are drawn at (1:200, 500, 1 000, 2 000,
 * 2 500, 5 000, 10 000, 25 000, 50 000, 100 000 …) at least @scale. */
static double
standard_scale (double scale)
{
  static const double steps[] = { 1, 2, 2.5, 5 };
  double decade = pow (10, floor (log10 (MAX (scale, 1))));

  if (scale <= 200)
    return 200;
  for (int k = 0; k < 3; k++, decade *= 10)
    for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
      if (steps[i] * decade >= scale * (1 - 1e-9))
        return steps[i] * decade;
  return scale;
}

/* The scale at which @box (grown by @margin of its size) fits @w × @h. */
static double
fit_scale (const double box[4], double margin, double w, double h)
{
  double bw = MAX (box[2] - box[0], 1) * (1 + 2 * margin);
  double bh = MAX (box[3] - box[1], 1) * (1 + 2 * margin);

  return MAX (bw / w, bh / h) * 1000;
}

static GPtrArray *
map_layers (DothiPrintContext *ctx, JsonObject *item, GError **error)
{
  GPtrArray *layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
  JsonNode *names = json_object_get_member (item, "layers");

  /* Registry order is bottom first; the frame's own list picks, in it. */
  for (guint i = 0; i < ctx->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (ctx->layers, i);
      DothiStyle *style = g_hash_table_lookup (ctx->styles, info->name);
      gboolean wanted = FALSE;

      if (style == NULL)
        continue;
      if (names != NULL && JSON_NODE_HOLDS_ARRAY (names))
        {
          JsonArray *a = json_node_get_array (names);

          for (guint k = 0; k < json_array_get_length (a); k++)
            if (g_strcmp0 (json_array_get_string_element (a, k), info->name) == 0)
              wanted = TRUE;
        }
      else
        wanted = info->visible;
      if (wanted)
        {
          DothiRenderLayer *layer = dothi_render_layer_new (info, style);

          if (info->srid != ctx->srid)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: layer, EPSG code, EPSG code */
                           _("Layer “%s” is in EPSG:%d, not in the project's EPSG:%d: it cannot be printed"),
                           info->name, info->srid, ctx->srid);
              dothi_render_layer_unref (layer);
              g_ptr_array_unref (layers);
              return NULL;
            }
          g_ptr_array_add (layers, layer);
        }
    }
  if (layers->len == 0)
    {
      const char *id = json_object_get_string_member_with_default (item, "id", "map");

      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a map item's id */
                   _("The map frame “%s” has no layer with geometry to draw"), id);
      g_ptr_array_unref (layers);
      return NULL;
    }
  return layers;
}

/* Resolves the page's map frames: their layers, extent and scale, an
 * atlas feature's box @atlas_box (NULL: none) framing the first. */
static gboolean
resolve_maps (DothiPrintContext *ctx, const double *atlas_box, double atlas_margin,
              double atlas_scale, GError **error)
{
  JsonObject *root = dothi_layout_get_object (ctx->layout);
  JsonArray *items = json_object_get_array_member (root, "items");
  gboolean first = TRUE;

  g_ptr_array_foreach (ctx->maps, print_map_free, NULL);
  g_ptr_array_set_size (ctx->maps, 0);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      DothiPrintMap *map;
      double scale, box[4], centre[2];

      if (g_strcmp0 (json_object_get_string_member_with_default (item, "type", ""), "map") != 0)
        continue;
      map = g_new0 (DothiPrintMap, 1);
      g_ptr_array_add (ctx->maps, map);
      map->item = item;
      map->id = json_object_get_string_member_with_default (item, "id", "map");
      map->x = member_double (item, "x", 0);
      map->y = member_double (item, "y", 0);
      map->w = member_double (item, "w", 0);
      map->h = member_double (item, "h", 0);
      map->layers = map_layers (ctx, item, error);
      if (map->layers == NULL)
        return FALSE;
      scale = member_double (item, "scale", 0);

      if (first && atlas_box != NULL)
        {
          /* The atlas feature, centred, at the atlas's own scale, or at
           * the first standard scale that fits it: the frame's scale
           * (a template's, made for the whole city) is not for a page. */
          scale = atlas_scale;
          if (scale <= 0)
            {
              /* The margin gives way (down to 2 %) before the scale
               * steps up: a sheet that just fits stays at 1:25 000
               * rather than jumping to 1:50 000. */
              double with_margin = standard_scale (fit_scale (atlas_box, atlas_margin,
                                                              map->w, map->h));
              double tight = standard_scale (fit_scale (atlas_box, MIN (atlas_margin, 0.02),
                                                        map->w, map->h));
              scale = MIN (with_margin, tight);
            }
          extent_at ((atlas_box[0] + atlas_box[2]) / 2, (atlas_box[1] + atlas_box[3]) / 2,
                     scale, map->w, map->h, map->extent);
        }
      else if (member_box (item, "extent", box, 4))
        {
          if (scale <= 0)
            scale = fit_scale (box, 0, map->w, map->h);
          extent_at ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, scale, map->w, map->h,
                     map->extent);
        }
      else if (member_box (item, "center", centre, 2))
        {
          if (scale <= 0)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: a map item's id */
                           _("The map frame “%s” has a scale of 0: give a scale 1:N or an extent"),
                           map->id);
              return FALSE;
            }
          extent_at (centre[0], centre[1], scale, map->w, map->h, map->extent);
        }
      else
        {
          /* The drawn layers' extent. */
          box[0] = box[1] = G_MAXDOUBLE;
          box[2] = box[3] = -G_MAXDOUBLE;
          for (guint k = 0; k < map->layers->len; k++)
            {
              const DothiRenderLayer *l = g_ptr_array_index (map->layers, k);

              box[0] = MIN (box[0], l->extent[0]);
              box[1] = MIN (box[1], l->extent[1]);
              box[2] = MAX (box[2], l->extent[2]);
              box[3] = MAX (box[3], l->extent[3]);
            }
          if (scale <= 0)
            scale = fit_scale (box, 0.02, map->w, map->h);
          extent_at ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, scale, map->w, map->h,
                     map->extent);
        }
      map->scale = scale;
      first = FALSE;
    }
  return TRUE;
}

static gboolean draw_features (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map,
                               GError **error);

/* What a frame shows, as a key: the same key draws the same picture. */
static char *
frame_key (DothiPrintContext *ctx, DothiPrintMap *map)
{
  GString *key = g_string_new (NULL);

  g_string_append_printf (key, "%.4f %.4f %.4f %.4f|%.6f %.6f %.6f %.6f|%.6f|%.2f",
                          map->x, map->y, map->w, map->h, map->extent[0], map->extent[1],
                          map->extent[2], map->extent[3], map->scale, ctx->dpi);
  for (guint k = 0; k < map->layers->len; k++)
    {
      const DothiRenderLayer *layer = g_ptr_array_index (map->layers, k);
      g_string_append_printf (key, "|%s", layer->name);
    }
  return g_string_free (key, FALSE);
}

/* An atlas draws the same overview on every page: it is drawn once into
 * a recording and replayed, instead of reading every feature again. */
gboolean
dothi_print_draw_map_features (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map,
                               GError **error)
{
  g_autofree char *key = NULL;
  cairo_surface_t *recording;

  if (g_strcmp0 (map->id, "overview") != 0)
    return draw_features (cr, ctx, map, error);
  key = frame_key (ctx, map);
  recording = g_hash_table_lookup (ctx->recordings, key);
  if (recording == NULL)
    {
      cairo_t *rcr;
      gboolean ok;

      recording = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, NULL);
      rcr = cairo_create (recording);
      ok = draw_features (rcr, ctx, map, error);
      cairo_destroy (rcr);
      if (!ok)
        {
          cairo_surface_destroy (recording);
          return FALSE;
        }
      g_hash_table_insert (ctx->recordings, g_steal_pointer (&key), recording);
    }
  cairo_save (cr);
  cairo_set_source_surface (cr, recording, 0, 0);
  cairo_paint (cr);
  cairo_restore (cr);
  return TRUE;
}

static gboolean
draw_features (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map, GError **error)
{
  double px_mm = 25.4 / (ctx->dpi > 0 ? ctx->dpi : 300);
  double res = map->scale / 1000 * px_mm;         /* metres a paper pixel */
  double symbol_scale = MM_PER_SCREEN_PX / px_mm;
  gint64 nx = (gint64) ceil (map->w / px_mm / BLOCK_PX);
  gint64 ny = (gint64) ceil (map->h / px_mm / BLOCK_PX);
  gint64 t0 = g_get_monotonic_time ();
  gboolean ok = TRUE;

  cairo_save (cr);
  cairo_rectangle (cr, map->x, map->y, map->w, map->h);
  cairo_clip (cr);
  for (guint k = 0; k < map->layers->len && ok; k++)
    {
      const DothiRenderLayer *layer = g_ptr_array_index (map->layers, k);
      const DothiLayerInfo *info = dothi_print_context_find_layer (ctx, layer->name);
      double opacity = info != NULL ? info->opacity : 1;

      if (opacity < 1)
        cairo_push_group (cr);
      for (gint64 by = 0; by < ny && ok; by++)
        for (gint64 bx = 0; bx < nx && ok; bx++)
          {
            DothiBlock block = {
              .resolution = res, .x = bx, .y = by, .size = BLOCK_PX,
              .projected = TRUE, .origin_x = map->extent[0], .origin_y = map->extent[3],
            };

            if (g_cancellable_set_error_if_cancelled (ctx->cancellable, error))
              {
                ok = FALSE;
                break;
              }
            cairo_save (cr);
            cairo_translate (cr, map->x + bx * BLOCK_PX * px_mm, map->y + by * BLOCK_PX * px_mm);
            cairo_scale (cr, px_mm, px_mm);
            /* Its own square only: a feature crossing blocks is drawn
             * once on paper, and translucent fills show no seams. */
            cairo_rectangle (cr, 0, 0, BLOCK_PX, BLOCK_PX);
            cairo_clip (cr);
            ok = dothi_tile_renderer_draw (ctx->renderer, layer, &block, symbol_scale,
                                           DOTHI_RENDER_PRINT, cr, NULL, ctx->cancellable,
                                           error);
            cairo_restore (cr);
          }
      if (opacity < 1)
        {
          cairo_pop_group_to_source (cr);
          cairo_paint_with_alpha (cr, opacity);
        }
      g_debug ("%s drawn in %.0f ms", layer->name, (g_get_monotonic_time () - t0) / 1000.0);
      t0 = g_get_monotonic_time ();
    }
  cairo_restore (cr);
  if (ok && g_cancellable_set_error_if_cancelled (ctx->cancellable, error))
    ok = FALSE;
  return ok;
}


/* An offline basemap (an MBTiles file, or any raster GDAL reads) under the
 * frame: warped from its CRS (Web Mercator) to the project's, read at the
 * print's resolution and painted as one image. Online tiles are never
 * printed: only a file is accepted. */
static gboolean
draw_basemap (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map, const char *path,
              GError **error)
{
  double dpi = ctx->dpi > 0 ? ctx->dpi : 150;
  int width = (int) ceil (map->w / 25.4 * dpi), height = (int) ceil (map->h / 25.4 * dpi);
  OGRSpatialReferenceH srs = NULL;
  GDALDatasetH src = NULL, warped = NULL;
  char *wkt = NULL;
  double gt[6];
  guint8 *rgba = NULL;
  cairo_surface_t *image = NULL;
  gboolean ok = FALSE;
  int bands;

  if (g_str_has_prefix (path, "http://") || g_str_has_prefix (path, "https://"))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: an address */
                   _("“%s” is an online basemap: online tiles are never printed; give an offline MBTiles file"),
                   path);
      return FALSE;
    }
  src = GDALOpen (path, GA_ReadOnly);
  if (src == NULL || GDALGetRasterCount (src) < 3)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: a file name, GDAL's message */
                   _("Cannot read the basemap “%s”: %s"), path,
                   src == NULL ? CPLGetLastErrorMsg () : _("it has no colour bands"));
      goto out;
    }
  srs = dothi_crs_new_srs (ctx->srid, error);
  if (srs == NULL || OSRExportToWkt (srs, &wkt) != OGRERR_NONE)
    goto out;
  warped = GDALAutoCreateWarpedVRT (src, NULL, wkt, GRA_Bilinear, 0.125, NULL);
  if (warped == NULL || GDALGetGeoTransform (warped, gt) != CE_None || gt[2] != 0 || gt[4] != 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("Cannot read the basemap “%s”: %s"), path, CPLGetLastErrorMsg ());
      goto out;
    }
  {
    /* The frame's extent as a window of the warped raster; what lies
     * outside the raster stays white. */
    double px0 = (map->extent[0] - gt[0]) / gt[1], px1 = (map->extent[2] - gt[0]) / gt[1];
    double py0 = (map->extent[3] - gt[3]) / gt[5], py1 = (map->extent[1] - gt[3]) / gt[5];
    int rw = GDALGetRasterXSize (warped), rh = GDALGetRasterYSize (warped);
    int x0 = (int) floor (MAX (px0, 0)), y0 = (int) floor (MAX (py0, 0));
    int x1 = (int) ceil (MIN (px1, rw)), y1 = (int) ceil (MIN (py1, rh));
    int ow, oh, stride;
    double ox, oy, sx, sy;
    guint8 *data;

    if (x1 <= x0 || y1 <= y0)
      {
        ok = TRUE;   /* the basemap does not reach the frame */
        goto out;
      }
    sx = width / (px1 - px0);
    sy = height / (py1 - py0);
    ow = MAX (1, (int) ceil ((x1 - x0) * sx));
    oh = MAX (1, (int) ceil ((y1 - y0) * sy));
    bands = MIN (GDALGetRasterCount (warped), 4);
    rgba = g_malloc0 ((gsize) ow * oh * 4);
    for (int b = 0; b < 4; b++)
      {
        CPLErr err = CE_None;

        if (b < bands)
          err = GDALRasterIO (GDALGetRasterBand (warped, b + 1), GF_Read, x0, y0, x1 - x0,
                              y1 - y0, rgba + b, ow, oh, GDT_Byte, 4, ow * 4);
        else
          for (gsize i = 0; i < (gsize) ow * oh; i++)
            rgba[i * 4 + b] = 255;
        if (err != CE_None)
          {
            g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                         _("Cannot read the basemap “%s”: %s"), path, CPLGetLastErrorMsg ());
            goto out;
          }
        if (g_cancellable_set_error_if_cancelled (ctx->cancellable, error))
          goto out;
      }
    image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, ow, oh);
    data = cairo_image_surface_get_data (image);
    stride = cairo_image_surface_get_stride (image);
    for (int j = 0; j < oh; j++)
      {
        guint32 *row = (guint32 *) (data + (gsize) j * stride);

        for (int i = 0; i < ow; i++)
          {
            const guint8 *p = rgba + ((gsize) j * ow + i) * 4;
            guint32 a = p[3];

            row[i] = a << 24 | (guint32) (p[0] * a / 255) << 16
                     | (guint32) (p[1] * a / 255) << 8 | (guint32) (p[2] * a / 255);
          }
      }
    cairo_surface_mark_dirty (image);
    /* Paper position of the window's top-left corner, in mm. */
    ox = map->x + (x0 - px0) / (px1 - px0) * map->w;
    oy = map->y + (y0 - py0) / (py1 - py0) * map->h;
    cairo_save (cr);
    cairo_rectangle (cr, map->x, map->y, map->w, map->h);
    cairo_clip (cr);
    cairo_translate (cr, ox, oy);
    cairo_scale (cr, map->w / width, map->h / height);
    cairo_set_source_surface (cr, image, 0, 0);
    cairo_paint (cr);
    cairo_restore (cr);
    ok = TRUE;
  }

out:
  if (image != NULL)
    cairo_surface_destroy (image);
  g_free (rgba);
  if (warped != NULL)
    GDALClose (warped);
  if (src != NULL)
    GDALClose (src);
  CPLFree (wkt);
  if (srs != NULL)
    OSRDestroySpatialReference (srs);
  return ok;
}

/* ---- pages ---------------------------------------------------------------- */

typedef struct {
  const char *name;
  gboolean  (*draw) (cairo_t *, DothiPrintContext *, JsonObject *, GError **);
} ItemDrawer;

static const ItemDrawer drawers[] = {
  { "overview", dothi_print_draw_overview },
  { "legend", dothi_print_draw_legend },
  { "scale_bar", dothi_print_draw_scale_bar },
  { "north_arrow", dothi_print_draw_north_arrow },
  { "title_block", dothi_print_draw_title_block },
  { "text", dothi_print_draw_text },
  { "image", dothi_print_draw_image },
  { "table", dothi_print_draw_table },
  { "frame", dothi_print_draw_frame },
};

/* The atlas: its layer, and the fids of its pages in fid order. */
typedef struct {
  const DothiLayerInfo *info;
  GArray               *fids;
  double                margin;
  double                scale;      /* 0: each page fitted to a standard scale */
  const char           *title_field;
} Atlas;

static void
atlas_clear (Atlas *atlas)
{
  g_clear_pointer (&atlas->fids, g_array_unref);
}

static gboolean
atlas_open (DothiPrintContext *ctx, DothiLayout *layout, const DothiPrintOptions *options,
            Atlas *atlas, GError **error)
{
  JsonObject *root = dothi_layout_get_object (layout);
  JsonObject *spec = json_object_has_member (root, "atlas")
                     ? json_object_get_object_member (root, "atlas") : NULL;
  const char *name = options != NULL && options->atlas_layer != NULL ? options->atlas_layer
                     : spec != NULL ? json_object_get_string_member_with_default (spec, "layer", NULL)
                     : NULL;
  const char *where = options != NULL ? options->atlas_where : NULL;
  g_autoptr(DothiExpression) expr = NULL;
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autofree char *cond = NULL;

  memset (atlas, 0, sizeof *atlas);
  if (name == NULL)
    return TRUE;
  atlas->info = dothi_print_context_find_layer (ctx, name);
  if (atlas->info == NULL || atlas->info->kind == DOTHI_GEOMETRY_KIND_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a layer name */
                   _("The atlas layer “%s” is not a layer with geometry in the project"), name);
      return FALSE;
    }
  atlas->margin = spec != NULL ? member_double (spec, "margin", 0.1) : 0.1;
  atlas->scale = spec != NULL ? member_double (spec, "scale", 0) : 0;
  atlas->title_field = spec != NULL
                       ? json_object_get_string_member_with_default (spec, "title_field", NULL)
                       : NULL;
  if (where != NULL && where[0] != '\0')
    {
      expr = dothi_expression_parse (where, atlas->info, error);
      if (expr == NULL)
        return FALSE;
      cond = dothi_expression_to_sql (expr, NULL, &params);
      sql = sqlite3_mprintf ("SELECT fid FROM \"%w\" WHERE geom IS NOT NULL AND (%s) ORDER BY fid",
                             atlas->info->name, cond);
    }
  else
    sql = sqlite3_mprintf ("SELECT fid FROM \"%w\" WHERE geom IS NOT NULL ORDER BY fid",
                           atlas->info->name);
  if (sqlite3_prepare_v2 (ctx->db, sql, -1, &stmt, NULL) != SQLITE_OK
      || (params != NULL && !dothi_expression_bind (stmt, 1, params, error)))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                     /* Translators: layer name, SQLite's message */
                     _("Cannot read the atlas layer “%s”: %s"), name, sqlite3_errmsg (ctx->db));
      return FALSE;
    }
  atlas->fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (atlas->fids, fid);
    }
  if (atlas->fids->len == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a layer name */
                   _("The atlas layer “%s” has no feature to make a page of"), name);
      return FALSE;
    }
  return TRUE;
}

/* Reads the atlas feature's box and fields into the context's variables. */
static gboolean
atlas_feature (DothiPrintContext *ctx, Atlas *atlas, guint page, double box[4], GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("SELECT * FROM \"%w\" WHERE fid = ?1",
                                                atlas->info->name);
  g_autoptr(sqlite3_stmt) rtree = NULL;
  g_autoptr(DothiSqlStr) rsql = sqlite3_mprintf ("SELECT xmin, ymin, xmax, ymax FROM \"idx_%w_geom\""
                                                 " WHERE pkid = ?1", atlas->info->name);
  gint64 fid = g_array_index (atlas->fids, gint64, page);
  g_autofree char *fid_text = g_strdup_printf ("%" G_GINT64_FORMAT, fid);
  gboolean have_box = FALSE;

  if (sqlite3_prepare_v2 (ctx->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot read the atlas layer “%s”: %s"), atlas->info->name,
                   sqlite3_errmsg (ctx->db));
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, fid);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: a feature id, a layer name */
                   _("Feature %s of “%s” is gone"), fid_text, atlas->info->name);
      return FALSE;
    }
  for (int c = 0; c < sqlite3_column_count (stmt); c++)
    {
      const char *column = sqlite3_column_name (stmt, c);

      if (sqlite3_column_type (stmt, c) == SQLITE_BLOB)
        continue;
      g_hash_table_replace (ctx->vars, g_strdup (column),
                            g_strdup (sqlite3_column_type (stmt, c) == SQLITE_NULL ? ""
                                      : (const char *) sqlite3_column_text (stmt, c)));
    }
  if (atlas->title_field != NULL)
    {
      const char *title = g_hash_table_lookup (ctx->vars, atlas->title_field);
      g_hash_table_replace (ctx->vars, g_strdup ("atlas_title"), g_strdup (title ? title : ""));
    }
  /* The box from the R-tree (float, rounded outward: a hair wide). */
  if (sqlite3_prepare_v2 (ctx->db, rsql, -1, &rtree, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (rtree, 1, fid);
      if (sqlite3_step (rtree) == SQLITE_ROW)
        {
          for (int i = 0; i < 4; i++)
            box[i] = sqlite3_column_double (rtree, i);
          have_box = TRUE;
        }
    }
  if (!have_box)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a feature id, a layer name */
                   _("Feature %s of “%s” has no spatial index entry to frame it"),
                   fid_text, atlas->info->name);
      return FALSE;
    }
  return TRUE;
}

static void
set_var (DothiPrintContext *ctx, const char *name, const char *value)
{
  g_hash_table_replace (ctx->vars, g_strdup (name), g_strdup (value));
}

static gboolean
draw_page (DothiPrinter *printer, DothiLayout *layout, Atlas *atlas, guint page,
           guint n_pages, cairo_t *cr, double dpi, GCancellable *cancellable, GError **error)
{
  DothiPrintContext *ctx = &printer->ctx;
  JsonArray *items;
  double box[4];
  gboolean have_atlas = atlas->info != NULL;

  ctx->layout = layout;
  ctx->dpi = dpi > 0 ? dpi : 300;
  ctx->cancellable = cancellable;
  dothi_layout_get_page_size (layout, &ctx->page_w, &ctx->page_h);
  g_hash_table_remove_all (ctx->vars);
  {
    g_autoptr(GDateTime) now = g_date_time_new_now_local ();
    g_autofree char *date = g_date_time_format (now, "%d/%m/%Y");
    g_autofree char *p = g_strdup_printf ("%u", page + 1);
    g_autofree char *n = g_strdup_printf ("%u", n_pages);

    set_var (ctx, "date", date);
    set_var (ctx, "page", p);
    set_var (ctx, "pages", n);
  }
  if (have_atlas && !atlas_feature (ctx, atlas, page, box, error))
    return FALSE;
  if (!resolve_maps (ctx, have_atlas ? box : NULL, atlas->margin, atlas->scale, error))
    return FALSE;
  if (ctx->maps->len > 0)
    {
      DothiPrintMap *map = g_ptr_array_index (ctx->maps, 0);
      g_autofree char *n = dothi_print_format_number (round (map->scale), 0);
      g_autofree char *text = g_strdup_printf ("1:%s", n);

      set_var (ctx, "scale", text);
    }

  cairo_save (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, 0, 0, ctx->page_w, ctx->page_h);
  cairo_fill (cr);
  cairo_restore (cr);

  items = json_object_get_array_member (dothi_layout_get_object (layout), "items");
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      const char *type = json_object_get_string_member_with_default (item, "type", "");
      gboolean ok = TRUE;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      cairo_save (cr);
      if (strcmp (type, "map") == 0)
        {
          DothiPrintMap *map = NULL;

          for (guint k = 0; k < ctx->maps->len && map == NULL; k++)
            if (((DothiPrintMap *) g_ptr_array_index (ctx->maps, k))->item == item)
              map = g_ptr_array_index (ctx->maps, k);
          const char *basemap = json_object_get_string_member_with_default (item, "basemap",
                                                                            NULL);

          /* The grid under the plot labels, so its lines never cross them. */
          ok = (basemap == NULL || draw_basemap (cr, ctx, map, basemap, error))
               && dothi_print_draw_map_features (cr, ctx, map, error)
               && dothi_print_draw_map_grid (cr, ctx, map, error)
               && (!json_object_get_boolean_member_with_default (item, "labels", FALSE)
                   || dothi_print_draw_map_labels (cr, ctx, map, error));
          if (ok)
            {
              /* The frame's neat line. */
              cairo_set_source_rgb (cr, 0, 0, 0);
              cairo_set_line_width (cr, 0.35);
              cairo_rectangle (cr, map->x, map->y, map->w, map->h);
              cairo_stroke (cr);
            }
        }
      else
        {
          for (guint k = 0; k < G_N_ELEMENTS (drawers); k++)
            if (strcmp (type, drawers[k].name) == 0)
              ok = drawers[k].draw (cr, ctx, item, error);
        }
      cairo_restore (cr);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
dothi_printer_draw_page (DothiPrinter            *printer,
                         DothiLayout             *layout,
                         const DothiPrintOptions *options,
                         guint                    page,
                         cairo_t                 *cr,
                         double                   dpi,
                         GCancellable            *cancellable,
                         GError                 **error)
{
  Atlas atlas;
  gboolean ok;
  guint n = 1;

  g_return_val_if_fail (printer != NULL && layout != NULL && cr != NULL, FALSE);

  if (!dothi_layout_validate (layout, error)
      || !atlas_open (&printer->ctx, layout, options, &atlas, error))
    return FALSE;
  if (atlas.info != NULL)
    {
      n = atlas.fids->len;
      if (page >= n)
        page = n - 1;
    }
  ok = draw_page (printer, layout, &atlas, page, n, cr, dpi, cancellable, error);
  atlas_clear (&atlas);
  return ok;
}

gint64
dothi_printer_count_pages (DothiPrinter            *printer,
                           DothiLayout             *layout,
                           const DothiPrintOptions *options,
                           GError                 **error)
{
  Atlas atlas;
  gint64 n;

  g_return_val_if_fail (printer != NULL, -1);

  if (!atlas_open (&printer->ctx, layout, options, &atlas, error))
    return -1;
  n = atlas.info != NULL ? atlas.fids->len : 1;
  atlas_clear (&atlas);
  return n;
}

gint64
dothi_print_count_pages (const char              *project_path,
                         DothiLayout             *layout,
                         const DothiPrintOptions *options,
                         GError                 **error)
{
  g_autoptr(DothiPrinter) printer = dothi_printer_new (project_path, error);

  if (printer == NULL)
    return -1;
  return dothi_printer_count_pages (printer, layout, options, error);
}

/* The font that prints Vietnamese: present and covering its letters. */
static gboolean
check_font (GError **error)
{
  PangoFontMap *fontmap = pango_cairo_font_map_get_default ();
  PangoContext *context = pango_font_map_create_context (fontmap);
  PangoFontDescription *desc = pango_font_description_from_string (DOTHI_PRINT_FONT " 10");
  PangoFont *font = pango_font_map_load_font (fontmap, context, desc);
  gboolean ok = FALSE;

  if (font != NULL)
    {
      PangoFontDescription *got = pango_font_describe (font);

      ok = g_ascii_strcasecmp (pango_font_description_get_family (got), DOTHI_PRINT_FONT) == 0
           /* ệ, ơ, ư, đ: letters a Latin-1 font lacks. */
           && pango_font_has_char (font, 0x1EC7) && pango_font_has_char (font, 0x01A1)
           && pango_font_has_char (font, 0x01B0) && pango_font_has_char (font, 0x0111);
      pango_font_description_free (got);
      g_object_unref (font);
    }
  pango_font_description_free (desc);
  g_object_unref (context);
  if (!ok)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: a font name */
                 _("The font “%s” with every Vietnamese letter is missing: install the fonts-noto-core package"),
                 DOTHI_PRINT_FONT);
  return ok;
}

/* A name beside @path for the file being written. */
static char *
temp_name (const char *path, guint page, guint n_pages)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strdup_printf (".%s.%u-%u.part", base, page, (guint) g_random_int ());

  return g_build_filename (dir, name, NULL);
}

/* "map.png" as page 3 of 12: "map-03.png". */
static char *
page_path (const char *path, guint page, guint n_pages)
{
  const char *dot = strrchr (path, '.');
  int width = n_pages >= 100 ? 3 : 2;

  if (n_pages <= 1)
    return g_strdup (path);
  if (dot == NULL || strchr (dot, G_DIR_SEPARATOR) != NULL)
    return g_strdup_printf ("%s-%0*u", path, width, page + 1);
  return g_strdup_printf ("%.*s-%0*u%s", (int) (dot - path), path, width, page + 1, dot);
}

gboolean
dothi_print_sync (const char              *project_path,
                  DothiLayout             *layout,
                  const DothiPrintOptions *options,
                  const char              *out_path,
                  GCancellable            *cancellable,
                  DothiProgressFunc        progress,
                  gpointer                 progress_data,
                  GError                 **error)
{
  g_autoptr(DothiPrinter) printer = NULL;
  g_autoptr(GPtrArray) temps = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) finals = g_ptr_array_new_with_free_func (g_free);
  DothiPrintFormat format = options != NULL ? options->format : DOTHI_PRINT_PDF;
  /* Vector output keeps as vector everything that shows at the map's
   * scale; only what is smaller than two screen pixels there becomes
   * coverage, which 150 dpi renders finely enough. A PNG is all raster. */
  double dpi = options != NULL && options->dpi > 0 ? options->dpi
               : format == DOTHI_PRINT_PNG ? 300 : 150;
  cairo_surface_t *surface = NULL;
  Atlas atlas = { 0, };
  double w, h;
  guint n_pages = 1;
  gboolean ok = TRUE;

  g_return_val_if_fail (project_path != NULL && layout != NULL && out_path != NULL, FALSE);

  if (!dothi_layout_validate (layout, error) || !check_font (error))
    return FALSE;
  g_debug ("print: start");
  printer = dothi_printer_new (project_path, error);
  if (printer == NULL || !atlas_open (&printer->ctx, layout, options, &atlas, error))
    return FALSE;
  g_debug ("print: printer ready");
  if (atlas.info != NULL)
    n_pages = atlas.fids->len;
  dothi_layout_get_page_size (layout, &w, &h);

  for (guint page = 0; page < n_pages && ok; page++)
    {
      cairo_t *cr;
      cairo_status_t status;

      if (progress != NULL)
        progress ((double) page / n_pages, NULL, progress_data);
      if (surface == NULL)
        {
          char *temp = temp_name (out_path, page, n_pages);

          g_ptr_array_add (temps, temp);
          g_ptr_array_add (finals, format == DOTHI_PRINT_PDF ? g_strdup (out_path)
                                                             : page_path (out_path, page, n_pages));
          switch (format)
            {
            case DOTHI_PRINT_SVG:
              surface = cairo_svg_surface_create (temp, w * DOTHI_PT_PER_MM, h * DOTHI_PT_PER_MM);
              cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_MM);
              break;
            case DOTHI_PRINT_PNG:
              surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                                    (int) ceil (w * dpi / 25.4),
                                                    (int) ceil (h * dpi / 25.4));
              break;
            case DOTHI_PRINT_PDF:
            default:
              surface = cairo_pdf_surface_create (temp, w * DOTHI_PT_PER_MM, h * DOTHI_PT_PER_MM);
              cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE,
                                              dothi_layout_get_name (layout));
              cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Dothi");
              break;
            }
        }
      cr = cairo_create (surface);
      if (format == DOTHI_PRINT_PNG)
        cairo_scale (cr, dpi / 25.4, dpi / 25.4);
      else
        cairo_scale (cr, DOTHI_PT_PER_MM, DOTHI_PT_PER_MM);
      ok = draw_page (printer, layout, &atlas, page, n_pages, cr, dpi, cancellable, error);
      g_debug ("print: page %u drawn", page + 1);
      if (ok && format == DOTHI_PRINT_PDF)
        cairo_show_page (cr);
      g_debug ("print: page %u shown", page + 1);
      cairo_destroy (cr);
      if (!ok)
        break;
      if (format != DOTHI_PRINT_PDF)
        {
          if (format == DOTHI_PRINT_PNG)
            status = cairo_surface_write_to_png (surface, g_ptr_array_index (temps, temps->len - 1));
          else
            {
              cairo_surface_finish (surface);
              status = cairo_surface_status (surface);
            }
          cairo_surface_destroy (surface);
          surface = NULL;
          if (status != CAIRO_STATUS_SUCCESS)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                           /* Translators: file name, cairo's message */
                           _("Cannot write “%s”: %s"), out_path, cairo_status_to_string (status));
              ok = FALSE;
            }
        }
    }
  if (surface != NULL)
    {
      cairo_surface_finish (surface);
      g_debug ("print: finished");
      if (ok && cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                       _("Cannot write “%s”: %s"), out_path,
                       cairo_status_to_string (cairo_surface_status (surface)));
          ok = FALSE;
        }
      cairo_surface_destroy (surface);
    }
  atlas_clear (&atlas);

  for (guint i = 0; i < temps->len; i++)
    {
      const char *temp = g_ptr_array_index (temps, i);

      if (ok && g_rename (temp, g_ptr_array_index (finals, i)) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Cannot write “%s”: %s"), (const char *) g_ptr_array_index (finals, i),
                       g_strerror (saved));
          ok = FALSE;
        }
      if (!ok)
        g_unlink (temp);
    }
  if (ok && progress != NULL)
    progress (1, NULL, progress_data);
  return ok;
}
