/* dothi-tile-renderer.c: draws a layer's features into one block of the
 * Web Mercator pixel grid. Reads through the R-tree, transforms exactly at
 * a grid of control points and interpolates between them, and merges
 * sub-pixel features into pixel coverage instead of decoding them. */

#define G_LOG_DOMAIN "dothi-render"

#include "config.h"
#include "dothi-tile-renderer.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-map-transform.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

/* Control points per block side, minus one. TM-3 to Web Mercator bends by
 * far less than 1/8 pixel over a cell at any zoom: about 0.03 px with
 * 39 km cells at zoom 8 (tested at zoom 22 in test-render). */
#define GRID_CELLS 4
/* Vertices closer than this (pixels) to the last one kept are dropped. */
#define THIN_PX 0.3
/* Share of a sub-pixel feature's bbox its polygon covers, on average: a
 * parcel is a rotated quadrilateral, not its bbox. */
#define SUBPIXEL_FILL_RATIO 0.9
/* Polygons below this size (pixels, both ways) become coverage from
 * their exact area instead of a cairo fill. */
#define SMALL_POLYGON_PX 2.0

/* The highlight of a selection (logical pixels): a saturated cyan that no
 * land-use or zoning colour uses, cased in dark blue so it reads on pale
 * aquaculture cyan too. */
#define HIGHLIGHT_FILL        "#00b8ff73"   /* 45 % */
#define HIGHLIGHT_FILL_SMALL  "#00b8ffd9"   /* 85 %: no outline shows there */
#define HIGHLIGHT_LINE        "#00e5ff"
#define HIGHLIGHT_CASING      "#00264df2"
#define HIGHLIGHT_OUTLINE_PX  2.0    /* polygon outline, inside its casing */
#define HIGHLIGHT_LINE_PX     4.0    /* line width, inside its casing */
#define HIGHLIGHT_CASING_PX   1.0    /* casing beyond the line, both sides */
/* Polygons are outlined from this size (pixels) up; smaller ones, a
 * crowd of cased outlines at a city's extent, get the denser fill. */
#define HIGHLIGHT_OUTLINE_MIN_PX 12.0
#define HIGHLIGHT_DOT_PX      3.5    /* radius of a point's dot */
#define HIGHLIGHT_RING_PX     8.0    /* radius of the ring around it */

/* The control grid of the last block, shared by the layers drawn into it
 * one after another (the same block, CRS and margin). */
typedef struct {
  gboolean   valid;
  DothiBlock block;
  int        srid;
  double     margin;
  gboolean   ok;
  double     src[4];
  double     sx0, sy0, sdx, sdy;
  double     gx[GRID_CELLS + 1][GRID_CELLS + 1];
  double     gy[GRID_CELLS + 1][GRID_CELLS + 1];
  double     px_per_unit;
} GridCache;

struct _DothiTileRenderer
{
  GridCache          grid;
  char              *path;
  sqlite3           *db;
  GHashTable        *statements;   /* "layer\x1ffield\x1fmode" → sqlite3_stmt* */
  GHashTable        *transforms;   /* srid → DothiMapTransform* */
  /* The selection being drawn, read by dothi_selected() in SQL: set only
   * while a highlight layer's statement steps. */
  const DothiFidSet *selection;
};

/* ---- render layers -------------------------------------------------- */

G_DEFINE_BOXED_TYPE (DothiRenderLayer, dothi_render_layer,
                     dothi_render_layer_ref, dothi_render_layer_unref)

static void
render_layer_clear (DothiRenderLayer *layer)
{
  g_free (layer->name);
  g_free (layer->title);
  g_clear_pointer (&layer->style, dothi_style_unref);
  g_clear_pointer (&layer->selection, dothi_fid_set_unref);
}

DothiRenderLayer *
dothi_render_layer_new (const DothiLayerInfo *info, DothiStyle *style)
{
  DothiRenderLayer *layer = g_atomic_rc_box_new0 (DothiRenderLayer);

  g_return_val_if_fail (info != NULL && style != NULL, layer);
  layer->name = g_strdup (info->name);
  layer->title = g_strdup (info->title);
  layer->kind = info->kind;
  layer->srid = info->srid;
  memcpy (layer->extent, info->extent, sizeof layer->extent);
  layer->style = dothi_style_ref (style);
  layer->style_revision = dothi_style_get_revision (style);
  layer->opacity = info->opacity;
  layer->visible = info->visible;
  return layer;
}

static DothiStyle *
highlight_style (void)
{
  DothiStyle *style = dothi_style_new (DOTHI_STYLE_SINGLE);

  dothi_color_parse (HIGHLIGHT_FILL, &style->other.fill);
  dothi_color_parse (HIGHLIGHT_LINE, &style->other.stroke);
  style->other.stroke_width = HIGHLIGHT_LINE_PX;
  /* The ring and its casing: the margin drawn beyond a block. */
  style->other.marker_size = 2 * (HIGHLIGHT_RING_PX + HIGHLIGHT_CASING_PX);
  style->other.marker = DOTHI_MARKER_CIRCLE;
  style->outline_min_px = HIGHLIGHT_OUTLINE_MIN_PX;
  style->max_resolution = 0;
  return style;
}

DothiRenderLayer *
dothi_render_layer_new_selection (const DothiLayerInfo *info, DothiFidSet *fids)
{
  g_autoptr(DothiStyle) style = highlight_style ();
  DothiRenderLayer *layer;
  const gint64 *members;
  guint64 h = 1469598103934665603ull;
  guint n;

  g_return_val_if_fail (info != NULL && fids != NULL, NULL);
  layer = dothi_render_layer_new (info, style);
  layer->selection = dothi_fid_set_ref (fids);
  layer->visible = TRUE;
  layer->opacity = 1.0;
  /* Never a cache key (the pool and the cache refuse selections), but
   * distinct from the table's own all the same. */
  members = dothi_fid_set_get_fids (fids, &n);
  for (guint i = 0; i < n; i++)
    h = (h ^ (guint64) members[i]) * 1099511628211ull;
  layer->style_revision ^= h ^ n;
  return layer;
}

DothiRenderLayer *
dothi_render_layer_ref (DothiRenderLayer *layer)
{
  return g_atomic_rc_box_acquire (layer);
}

void
dothi_render_layer_unref (DothiRenderLayer *layer)
{
  g_atomic_rc_box_release_full (layer, (GDestroyNotify) render_layer_clear);
}

void
dothi_label_free (DothiLabel *label)
{
  if (label == NULL)
    return;
  g_free (label->text);
  g_free (label);
}

/* ---- connection ----------------------------------------------------- */

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

/* dothi_selected(fid): TRUE when the selection being drawn holds @fid.
 * Tested on the R-tree's row, so an unselected feature's row and blob
 * are never read. */
static void
selected_sql (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  DothiTileRenderer *self = sqlite3_user_data (context);

  sqlite3_result_int (context, self->selection == NULL
                               || dothi_fid_set_contains (self->selection,
                                                          sqlite3_value_int64 (argv[0])));
}

DothiTileRenderer *
dothi_tile_renderer_new (const char *path, GError **error)
{
  g_autoptr(DothiTileRenderer) self = g_new0 (DothiTileRenderer, 1);

  self->path = g_strdup (path);
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            finalize_statement);
  self->transforms = g_hash_table_new_full (NULL, NULL, NULL,
                                            (GDestroyNotify) dothi_map_transform_free);
  /* Plain SQLite is enough: blobs are decoded here and the R-tree is
   * SQLite's own, so SpatiaLite's start-up cost is not paid per thread. */
  if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then SQLite's message */
                   _("Cannot open “%s” to draw the map: %s"), path,
                   self->db ? sqlite3_errmsg (self->db) : "");
      return NULL;
    }
  sqlite3_exec (self->db, "PRAGMA query_only = 1; PRAGMA cache_size = -16384; "
                "PRAGMA mmap_size = 0", NULL, NULL, NULL);
  sqlite3_busy_timeout (self->db, 5000);
  /* On this connection only: never in a view or trigger QGIS would meet. */
  sqlite3_create_function (self->db, "dothi_selected", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                           self, selected_sql, NULL, NULL);
  return g_steal_pointer (&self);
}

void
dothi_tile_renderer_free (DothiTileRenderer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->statements, g_hash_table_unref);
  g_clear_pointer (&self->transforms, g_hash_table_unref);
  if (self->db)
    sqlite3_close_v2 (self->db);
  g_free (self->path);
  g_free (self);
}

static gboolean
set_db_error (DothiTileRenderer *self, const char *layer, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, file name, SQLite's message */
               _("Cannot read layer “%s” of “%s”: %s"), layer, self->path,
               sqlite3_errmsg (self->db));
  return FALSE;
}

static DothiMapTransform *
get_transform (DothiTileRenderer *self, int srid, GError **error)
{
  DothiMapTransform *t = g_hash_table_lookup (self->transforms, GINT_TO_POINTER (srid));

  if (t == NULL)
    {
      t = dothi_map_transform_new (srid, error);
      if (t == NULL)
        return NULL;
      g_hash_table_insert (self->transforms, GINT_TO_POINTER (srid), t);
    }
  return t;
}

/* Features whose bbox meets ?1..?4 (minx miny maxx maxy), in fid order:
 * "rowid IN (subquery)" walks a sorted ephemeral table, so no sort step.
 * @field (checked against the table's columns) may be NULL. With
 * @selected, only those of self->selection. */
static sqlite3_stmt *
get_statement (DothiTileRenderer *self, const char *layer, const char *field,
               gboolean by_fid, gboolean selected, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s\x1f%s\x1f%d%d", layer, field ? field : "",
                                          by_fid, selected);
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, key);
  g_autoptr(DothiSqlStr) sql = NULL;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  /* Names reach SQL only once the registry knows the layer and its
   * table has the field. */
  {
    g_autoptr(sqlite3_stmt) known = NULL;

    if (sqlite3_prepare_v2 (self->db, "SELECT 1 FROM dothi_layers WHERE name = ?1",
                            -1, &known, NULL) != SQLITE_OK)
      {
        set_db_error (self, layer, error);
        return NULL;
      }
    sqlite3_bind_text (known, 1, layer, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (known) != SQLITE_ROW)
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                     _("There is no layer “%s” in “%s”"), layer, self->path);
        return NULL;
      }
  }
  if (field != NULL)
    {
      g_autoptr(sqlite3_stmt) check = NULL;
      gboolean found = FALSE;

      if (sqlite3_prepare_v2 (self->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
                              -1, &check, NULL) != SQLITE_OK)
        {
          set_db_error (self, layer, error);
          return NULL;
        }
      sqlite3_bind_text (check, 1, layer, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (check, 2, field, -1, SQLITE_TRANSIENT);
      found = sqlite3_step (check) == SQLITE_ROW;
      if (!found)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                       /* Translators: field name, layer name */
                       _("The style uses field “%s”, which layer “%s” does not have"),
                       field, layer);
          return NULL;
        }
    }

  if (by_fid)
    sql = sqlite3_mprintf ("SELECT fid, %s%w%s, geom FROM \"%w\" WHERE fid = ?1",
                           field ? "\"" : "", field ? field : "NULL", field ? "\"" : "",
                           layer);
  else
    /* R-tree order, sorted by fid in C afterwards: half the cost of
     * "fid IN (subquery)", whose ephemeral table SQLite sorts itself. */
    sql = sqlite3_mprintf ("SELECT t.fid, %s%w%s, t.geom FROM \"idx_%w_geom\" AS r "
                           "JOIN \"%w\" AS t ON t.fid = r.pkid WHERE r.xmin <= ?3 AND r.xmax >= ?1 "
                           "AND r.ymin <= ?4 AND r.ymax >= ?2%s",
                           field ? "t.\"" : "", field ? field : "NULL", field ? "\"" : "",
                           layer, layer, selected ? " AND dothi_selected(r.pkid)" : "");
  if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (self, layer, error);
      return NULL;
    }
  g_hash_table_insert (self->statements, g_steal_pointer (&key), stmt);
  return stmt;
}

/* ---- SpatiaLite blob walking ---------------------------------------- */

/* The blob layout is in dothi-spatialite-blob.c. Doubles are read with
 * memcpy: SQLite hands out blobs at any alignment. */
typedef struct {
  const guint8 *p;
  const guint8 *end;
  gboolean      swap;
} Cursor;

static inline gboolean
read_i32 (Cursor *c, gint32 *v)
{
  guint32 u;

  if (c->end - c->p < 4)
    return FALSE;
  memcpy (&u, c->p, 4);
  c->p += 4;
  *v = (gint32) (c->swap ? GUINT32_SWAP_LE_BE (u) : u);
  return TRUE;
}

static inline double
get_f64 (const guint8 *p, gboolean swap)
{
  guint64 u;
  double d;

  memcpy (&u, p, 8);
  if (swap)
    u = GUINT64_SWAP_LE_BE (u);
  memcpy (&d, &u, 8);
  return d;
}

static gboolean
blob_header (const guint8 *blob, gsize len, double mbr[4], Cursor *body, gint32 *type)
{
  gboolean swap;

  if (blob == NULL || len < 44 || blob[0] != 0x00 || blob[38] != 0x7C || blob[len - 1] != 0xFE)
    return FALSE;
  if (blob[1] != 0x00 && blob[1] != 0x01)
    return FALSE;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  swap = blob[1] == 0x00;
#else
  swap = blob[1] == 0x01;
#endif
  for (int i = 0; i < 4; i++)
    mbr[i] = get_f64 (blob + 6 + 8 * i, swap);
  body->p = blob + 39;
  body->end = blob + len - 1;
  body->swap = swap;
  return read_i32 (body, type);
}

/* ---- drawing state -------------------------------------------------- */

typedef enum {
  PART_RING,      /* closed polygon ring, outline not drawn */
  PART_RING_OUT,  /* closed polygon ring whose outline is drawn */
  PART_LINE,
  PART_POINT,
} PartKind;

typedef struct {
  guint    start;   /* index into pts (pairs) */
  guint    count;
  PartKind kind;
} Part;

typedef struct {
  /* Block geometry. */
  double             res;      /* metres per pixel */
  double             ox, oy;   /* Web Mercator of the block's top-left corner */
  int                size;
  double             scale;
  double             margin;   /* pixels drawn beyond the block's edges */
  gboolean           reference;
  gboolean           highlight;   /* a selection: cased outlines, ringed dots */
  gboolean           projected;   /* DothiBlock.projected: affine, no PROJ */
  DothiMapTransform *transform;

  /* Control grid over the source bbox: pixel coordinates of the nodes. */
  double             sx0, sy0, sdx, sdy;   /* source origin and cell size */
  double             gx[GRID_CELLS + 1][GRID_CELLS + 1];
  double             gy[GRID_CELLS + 1][GRID_CELLS + 1];
  double             px_per_unit;          /* pixels per source unit */

  /* The batch: consecutive features with one symbol. */
  const DothiSymbol *symbol;
  GArray            *pts;      /* double x, y */
  GArray            *parts;    /* Part */
  guint              n_out;
  guint              n_fill;
  guint              n_line;
  guint              n_point;

  /* Sub-pixel features as premultiplied coverage, size × size × 4. */
  float             *dots;
  int                dots_box[4];  /* pixels splatted: i0 j0 i1 j1 (inclusive) */

  cairo_t           *cr;
  guint              n_drawn;
} Draw;

static inline void
to_pixel_exact (Draw *d, double x, double y, double *px, double *py)
{
  double mx, my;

  if (d->projected)
    {
      *px = (x - d->ox) / d->res;
      *py = (d->oy - y) / d->res;
      return;
    }
  if (!dothi_map_transform_to_mercator (d->transform, x, y, &mx, &my))
    {
      *px = *py = NAN;
      return;
    }
  *px = (mx - d->ox) / d->res;
  *py = (d->oy - my) / d->res;
}

static inline void
to_pixel (Draw *d, double x, double y, double *px, double *py)
{
  double u = (x - d->sx0) / d->sdx;
  double v = (y - d->sy0) / d->sdy;
  int i, j;
  double fu, fv;

  if (!(u >= 0 && v >= 0 && u <= GRID_CELLS && v <= GRID_CELLS))
    {
      /* Far vertices of long features: exact, since extrapolating the
       * grid would bend the visible part of their segments. */
      to_pixel_exact (d, x, y, px, py);
      return;
    }
  i = MIN ((int) u, GRID_CELLS - 1);
  j = MIN ((int) v, GRID_CELLS - 1);
  fu = u - i;
  fv = v - j;
  *px = (1 - fv) * ((1 - fu) * d->gx[j][i] + fu * d->gx[j][i + 1])
        + fv * ((1 - fu) * d->gx[j + 1][i] + fu * d->gx[j + 1][i + 1]);
  *py = (1 - fv) * ((1 - fu) * d->gy[j][i] + fu * d->gy[j][i + 1])
        + fv * ((1 - fu) * d->gy[j + 1][i] + fu * d->gy[j + 1][i + 1]);
}

static void
set_source (cairo_t *cr, const DothiColor *c)
{
  cairo_set_source_rgba (cr, c->r, c->g, c->b, c->a);
}

static void
append_path (Draw *d, PartKind a, PartKind b)
{
  const double *pts = (const double *) d->pts->data;

  for (guint i = 0; i < d->parts->len; i++)
    {
      const Part *part = &g_array_index (d->parts, Part, i);

      if (part->kind != a && part->kind != b)
        continue;
      cairo_move_to (d->cr, pts[2 * part->start], pts[2 * part->start + 1]);
      for (guint k = 1; k < part->count; k++)
        cairo_line_to (d->cr, pts[2 * (part->start + k)], pts[2 * (part->start + k) + 1]);
      if (part->kind == PART_RING || part->kind == PART_RING_OUT)
        cairo_close_path (d->cr);
    }
}

static void
append_markers (Draw *d, const DothiSymbol *s)
{
  const double *pts = (const double *) d->pts->data;
  double r = MAX (1.0, s->marker_size * d->scale / 2);

  for (guint i = 0; i < d->parts->len; i++)
    {
      const Part *part = &g_array_index (d->parts, Part, i);
      double x, y;

      if (part->kind != PART_POINT)
        continue;
      x = pts[2 * part->start];
      y = pts[2 * part->start + 1];
      cairo_new_sub_path (d->cr);
      switch (s->marker)
        {
        case DOTHI_MARKER_SQUARE:
          cairo_rectangle (d->cr, x - r, y - r, 2 * r, 2 * r);
          break;
        case DOTHI_MARKER_TRIANGLE:
          cairo_move_to (d->cr, x, y - r * 1.15);
          cairo_line_to (d->cr, x + r, y + r * 0.85);
          cairo_line_to (d->cr, x - r, y + r * 0.85);
          cairo_close_path (d->cr);
          break;
        case DOTHI_MARKER_DIAMOND:
          cairo_move_to (d->cr, x, y - r * 1.2);
          cairo_line_to (d->cr, x + r, y);
          cairo_line_to (d->cr, x, y + r * 1.2);
          cairo_line_to (d->cr, x - r, y);
          cairo_close_path (d->cr);
          break;
        case DOTHI_MARKER_CIRCLE:
        default:
          cairo_arc (d->cr, x, y, r, 0, 2 * G_PI);
          break;
        }
    }
}

static void
set_hex_source (cairo_t *cr, const char *hex)
{
  DothiColor c;

  if (dothi_color_parse (hex, &c))
    set_source (cr, &c);
}

/* Strokes the current path twice: the dark casing, @width + 2 casings
 * wide, then the line itself in @hex. */
static void
stroke_cased (Draw *d, double width, const char *hex)
{
  cairo_t *cr = d->cr;

  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  set_hex_source (cr, HIGHLIGHT_CASING);
  cairo_set_line_width (cr, (width + 2 * HIGHLIGHT_CASING_PX) * d->scale);
  cairo_stroke_preserve (cr);
  set_hex_source (cr, hex);
  cairo_set_line_width (cr, width * d->scale);
  cairo_stroke (cr);
}

/* A batch of selected features: fill, then cased outlines and lines
 * (the casing keeps the cyan apart from any colour beneath), then each
 * point as a dot inside a ring. */
static void
flush_highlight (Draw *d)
{
  const DothiSymbol *s = d->symbol;
  const double *pts = (const double *) d->pts->data;
  cairo_t *cr = d->cr;

  cairo_new_path (cr);
  if (d->n_fill > 0)
    {
      append_path (d, PART_RING, PART_RING_OUT);
      set_source (cr, &s->fill);
      cairo_fill (cr);
    }
  if (d->n_out > 0)
    {
      append_path (d, PART_RING_OUT, PART_RING_OUT);
      stroke_cased (d, HIGHLIGHT_OUTLINE_PX, HIGHLIGHT_LINE);
    }
  if (d->n_line > 0)
    {
      append_path (d, PART_LINE, PART_LINE);
      stroke_cased (d, s->stroke_width, HIGHLIGHT_LINE);
    }
  if (d->n_point > 0)
    {
      double ring = HIGHLIGHT_RING_PX * d->scale, dot = HIGHLIGHT_DOT_PX * d->scale;

      for (guint i = 0; i < d->parts->len; i++)
        {
          const Part *part = &g_array_index (d->parts, Part, i);

          if (part->kind != PART_POINT)
            continue;
          cairo_new_sub_path (cr);
          cairo_arc (cr, pts[2 * part->start], pts[2 * part->start + 1], ring, 0, 2 * G_PI);
        }
      stroke_cased (d, HIGHLIGHT_OUTLINE_PX, HIGHLIGHT_LINE);
      for (guint i = 0; i < d->parts->len; i++)
        {
          const Part *part = &g_array_index (d->parts, Part, i);

          if (part->kind != PART_POINT)
            continue;
          cairo_new_sub_path (cr);
          cairo_arc (cr, pts[2 * part->start], pts[2 * part->start + 1], dot, 0, 2 * G_PI);
        }
      set_hex_source (cr, HIGHLIGHT_LINE);
      cairo_fill_preserve (cr);
      set_hex_source (cr, HIGHLIGHT_CASING);
      cairo_set_line_width (cr, 1.5 * d->scale);
      cairo_stroke (cr);
    }
}

static void
flush (Draw *d)
{
  const DothiSymbol *s = d->symbol;
  cairo_t *cr = d->cr;

  if (s == NULL || d->parts->len == 0)
    goto done;
  if (d->highlight)
    {
      flush_highlight (d);
      goto done;
    }

  cairo_new_path (cr);
  if (d->n_fill > 0 && s->fill.a > 0)
    {
      /* Rings were oriented (outer clockwise on screen, holes the other
       * way), so WINDING keeps holes and unites neighbours without seams. */
      append_path (d, PART_RING, PART_RING_OUT);
      set_source (cr, &s->fill);
      cairo_fill (cr);
    }
  if (d->n_out > 0 && s->stroke_width > 0 && s->stroke.a > 0)
    {
      append_path (d, PART_RING_OUT, PART_RING_OUT);
      set_source (cr, &s->stroke);
      cairo_set_line_width (cr, s->stroke_width * d->scale);
      cairo_set_line_join (cr, s->stroke_width * d->scale > 2.5 ? CAIRO_LINE_JOIN_ROUND
                                                                : CAIRO_LINE_JOIN_MITER);
      cairo_stroke (cr);
    }
  if (d->n_line > 0 && s->stroke.a > 0)
    {
      double w = MAX (0.5, s->stroke_width) * d->scale;

      append_path (d, PART_LINE, PART_LINE);
      set_source (cr, &s->stroke);
      cairo_set_line_width (cr, w);
      /* Round ends and joins are invisible on thin lines and cost the
       * stroker an arc at every vertex. */
      cairo_set_line_join (cr, w > 2.5 ? CAIRO_LINE_JOIN_ROUND : CAIRO_LINE_JOIN_BEVEL);
      cairo_set_line_cap (cr, w > 2.5 ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT);
      cairo_stroke (cr);
    }
  if (d->n_point > 0)
    {
      append_markers (d, s);
      set_source (cr, &s->fill);
      if (s->stroke_width > 0 && s->stroke.a > 0)
        {
          cairo_fill_preserve (cr);
          set_source (cr, &s->stroke);
          cairo_set_line_width (cr, s->stroke_width * d->scale);
          cairo_stroke (cr);
        }
      else
        cairo_fill (cr);
    }

done:
  g_array_set_size (d->pts, 0);
  g_array_set_size (d->parts, 0);
  d->n_out = d->n_fill = d->n_line = d->n_point = 0;
}

/* Reads one part (ring, line or point) of @dims doubles per vertex, turns
 * it to pixels, thins it and appends it to the batch. */
static gboolean
add_part (Draw *d, Cursor *c, int dims, PartKind kind, guint n)
{
  Part part = { d->pts->len / 2, 0, kind };
  double lx = 0, ly = 0;
  gsize need = (gsize) n * dims * 8;

  if (n == 0)
    return TRUE;
  if ((gsize) (c->end - c->p) < need)
    return FALSE;

  for (guint k = 0; k < n; k++)
    {
      const guint8 *v = c->p + (gsize) k * dims * 8;
      double x = get_f64 (v, c->swap), y = get_f64 (v + 8, c->swap);
      double px, py;

      to_pixel (d, x, y, &px, &py);
      if (isnan (px))
        continue;
      if (part.count > 0 && !d->reference && k + 1 < n
          && fabs (px - lx) < THIN_PX && fabs (py - ly) < THIN_PX)
        continue;
      g_array_append_val (d->pts, px);
      g_array_append_val (d->pts, py);
      lx = px;
      ly = py;
      part.count++;
    }
  c->p += need;
  if (part.count == 0)
    return TRUE;

  g_array_append_val (d->parts, part);
  return TRUE;
}

/* Orients the rings of one polygon: the first (outer) positive, the rest
 * negative, so a WINDING fill of a whole batch is right. */
static void
orient_polygon (Draw *d, guint first_part)
{
  for (guint i = first_part; i < d->parts->len; i++)
    {
      Part *part = &g_array_index (d->parts, Part, i);
      double *pts = (double *) d->pts->data + 2 * part->start;
      double a = 0;
      gboolean want_positive = i == first_part;

      for (guint k = 0; k < part->count; k++)
        {
          guint l = (k + 1) % part->count;
          a += pts[2 * k] * pts[2 * l + 1] - pts[2 * l] * pts[2 * k + 1];
        }
      if ((a > 0) != want_positive && a != 0)
        for (guint k = 0; k < part->count / 2; k++)
          {
            guint l = part->count - 1 - k;
            double tx = pts[2 * k], ty = pts[2 * k + 1];

            pts[2 * k] = pts[2 * l];
            pts[2 * k + 1] = pts[2 * l + 1];
            pts[2 * l] = tx;
            pts[2 * l + 1] = ty;
          }
    }
}

static int
dims_of (gint32 type)
{
  switch (type / 1000)
    {
    case 0: return 2;
    case 1: case 2: return 3;
    case 3: return 4;
    default: return 0;
    }
}

/* Walks the body of one (non-collection) geometry of @type. */
static gboolean
add_simple (Draw *d, Cursor *c, gint32 type, gboolean outline)
{
  int dims = dims_of (type);
  gint32 base = type % 1000, n, m;
  PartKind ring = outline ? PART_RING_OUT : PART_RING;

  if (dims == 0)
    return FALSE;
  switch (base)
    {
    case 1:
      if (!add_part (d, c, dims, PART_POINT, 1))
        return FALSE;
      d->n_point++;
      return TRUE;
    case 2:
      if (!read_i32 (c, &n) || n < 0 || !add_part (d, c, dims, PART_LINE, n))
        return FALSE;
      d->n_line++;
      return TRUE;
    case 3:
      {
        guint first = d->parts->len;

        if (!read_i32 (c, &m) || m < 0)
          return FALSE;
        for (gint32 r = 0; r < m; r++)
          if (!read_i32 (c, &n) || n < 0 || !add_part (d, c, dims, ring, n))
            return FALSE;
        orient_polygon (d, first);
        d->n_fill++;
        if (outline)
          d->n_out++;
        return TRUE;
      }
    default:
      return FALSE;
    }
}

static gboolean
add_geometry (Draw *d, Cursor *c, gint32 type, gboolean outline)
{
  gint32 base = type % 1000, n, sub;

  if (base >= 4 && base <= 7)
    {
      if (!read_i32 (c, &n) || n < 0)
        return FALSE;
      for (gint32 k = 0; k < n; k++)
        {
          if (c->p >= c->end || *c->p != 0x69)
            return FALSE;
          c->p++;
          if (!read_i32 (c, &sub) || !add_simple (d, c, sub, outline))
            return FALSE;
        }
      return TRUE;
    }
  return add_simple (d, c, type, outline);
}

/* Adds coverage @cover of colour @col over the pixel rectangle, OVER style. */
static void
splat (Draw *d, const DothiColor *col, double x0, double y0, double x1, double y1, double cover)
{
  int size = d->size;
  int i0 = MAX (0, (int) floor (x0)), i1 = MIN (size - 1, (int) floor (x1));
  int j0 = MAX (0, (int) floor (y0)), j1 = MIN (size - 1, (int) floor (y1));

  if (i0 <= i1 && j0 <= j1)
    {
      if (d->dots_box[2] < d->dots_box[0])
        {
          d->dots_box[0] = i0;
          d->dots_box[1] = j0;
          d->dots_box[2] = i1;
          d->dots_box[3] = j1;
        }
      else
        {
          d->dots_box[0] = MIN (d->dots_box[0], i0);
          d->dots_box[1] = MIN (d->dots_box[1], j0);
          d->dots_box[2] = MAX (d->dots_box[2], i1);
          d->dots_box[3] = MAX (d->dots_box[3], j1);
        }
    }
  for (int j = j0; j <= j1; j++)
    for (int i = i0; i <= i1; i++)
      {
        double ox = MIN (x1, i + 1.0) - MAX (x0, (double) i);
        double oy = MIN (y1, j + 1.0) - MAX (y0, (double) j);
        double a;
        float *p;

        if (ox <= 0 || oy <= 0)
          continue;
        /* The pixel's share covered: overlap area (a pixel is 1 × 1)
         * times the share of the bbox the feature fills. */
        a = MIN (1.0, cover * ox * oy) * col->a;
        p = d->dots + 4 * ((gsize) j * size + i);
        if (d->highlight)
          {
            /* One colour over disjoint features: their coverages add up,
             * as the single fill of a batch does (OVER would give a
             * crowd of sub-pixel parcels a third less alpha). */
            a = MIN (a, MAX (0.0, col->a - p[3]));
            p[0] += col->r * a;
            p[1] += col->g * a;
            p[2] += col->b * a;
            p[3] += a;
            continue;
          }
        p[0] = col->r * a + p[0] * (1 - a);
        p[1] = col->g * a + p[1] * (1 - a);
        p[2] = col->b * a + p[2] * (1 - a);
        p[3] = a + p[3] * (1 - a);
      }
}

static void
paint_dots (Draw *d)
{
  int size = d->size;
  /* Only the part splatted: a print's blocks are big and mostly empty,
   * and every pixel of the image is compressed into the PDF. */
  int i0 = d->dots_box[0], j0 = d->dots_box[1];
  int w = d->dots_box[2] - i0 + 1, h = d->dots_box[3] - j0 + 1;
  cairo_surface_t *s;
  guint8 *data;
  int stride;

  if (w <= 0 || h <= 0)
    return;
  s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  data = cairo_image_surface_get_data (s);
  stride = cairo_image_surface_get_stride (s);
  for (int j = 0; j < h; j++)
    {
      guint32 *row = (guint32 *) (data + (gsize) j * stride);

      for (int i = 0; i < w; i++)
        {
          const float *p = d->dots + 4 * ((gsize) (j0 + j) * size + i0 + i);
          guint32 a = (guint32) lrint (CLAMP (p[3], 0, 1) * 255);

          row[i] = a << 24
                   | (guint32) lrint (CLAMP (p[0], 0, p[3]) * 255) << 16
                   | (guint32) lrint (CLAMP (p[1], 0, p[3]) * 255) << 8
                   | (guint32) lrint (CLAMP (p[2], 0, p[3]) * 255);
        }
    }
  cairo_surface_mark_dirty (s);
  cairo_save (d->cr);
  cairo_set_source_surface (d->cr, s, i0, j0);
  cairo_paint (d->cr);
  cairo_restore (d->cr);
  cairo_surface_destroy (s);
}

/* The block's resolution, size and top-left corner (Web Mercator, or the
 * layer CRS on paper). */
static void
block_origin (Draw *d, const DothiBlock *block)
{
  d->res = block->resolution;
  d->size = block->size;
  d->projected = block->projected;
  if (block->projected)
    {
      d->ox = block->origin_x + block->x * block->size * block->resolution;
      d->oy = block->origin_y - block->y * block->size * block->resolution;
    }
  else
    {
      d->ox = -DOTHI_MERCATOR_HALF_WORLD + block->x * block->size * block->resolution;
      d->oy = DOTHI_MERCATOR_HALF_WORLD - block->y * block->size * block->resolution;
    }
}

/* Sets up the block's geometry and control grid; FALSE when the block
 * lies outside the layer CRS's area. @src gets the source-CRS bbox. */
static gboolean
setup_grid (Draw *d, const DothiBlock *block, double src[4]);

static gboolean
setup_block_cached (DothiTileRenderer *self, Draw *d, int srid, const DothiBlock *block,
                    double src[4])
{
  GridCache *g = &self->grid;

  block_origin (d, block);
  if (!(g->valid && g->srid == srid && g->margin == d->margin
        && g->block.resolution == block->resolution && g->block.x == block->x
        && g->block.y == block->y && g->block.size == block->size
        && g->block.projected == block->projected && g->block.origin_x == block->origin_x
        && g->block.origin_y == block->origin_y))
    {
      g->valid = TRUE;
      g->block = *block;
      g->srid = srid;
      g->margin = d->margin;
      g->ok = setup_grid (d, block, g->src);
      g->sx0 = d->sx0;
      g->sy0 = d->sy0;
      g->sdx = d->sdx;
      g->sdy = d->sdy;
      memcpy (g->gx, d->gx, sizeof g->gx);
      memcpy (g->gy, d->gy, sizeof g->gy);
      g->px_per_unit = d->px_per_unit;
    }
  else
    {
      d->sx0 = g->sx0;
      d->sy0 = g->sy0;
      d->sdx = g->sdx;
      d->sdy = g->sdy;
      memcpy (d->gx, g->gx, sizeof g->gx);
      memcpy (d->gy, g->gy, sizeof g->gy);
      d->px_per_unit = g->px_per_unit;
    }
  memcpy (src, g->src, 4 * sizeof (double));
  return g->ok;
}

static gboolean
setup_grid (Draw *d, const DothiBlock *block, double src[4])
{
  double merc[4];

  block_origin (d, block);
  merc[0] = d->ox - d->margin * d->res;
  merc[2] = d->ox + (block->size + d->margin) * d->res;
  merc[3] = d->oy + d->margin * d->res;
  merc[1] = d->oy - (block->size + d->margin) * d->res;
  if (d->projected)
    memcpy (src, merc, sizeof merc);
  else if (!dothi_map_transform_bbox_from_mercator (d->transform, merc, src))
    return FALSE;

  d->sx0 = src[0];
  d->sy0 = src[1];
  d->sdx = (src[2] - src[0]) / GRID_CELLS;
  d->sdy = (src[3] - src[1]) / GRID_CELLS;
  if (!(d->sdx > 0 && d->sdy > 0))
    return FALSE;
  for (int j = 0; j <= GRID_CELLS; j++)
    for (int i = 0; i <= GRID_CELLS; i++)
      {
        to_pixel_exact (d, d->sx0 + i * d->sdx, d->sy0 + j * d->sdy, &d->gx[j][i], &d->gy[j][i]);
        if (isnan (d->gx[j][i]))
          return FALSE;
      }
  d->px_per_unit = hypot (d->gx[0][GRID_CELLS] - d->gx[0][0],
                          d->gy[0][GRID_CELLS] - d->gy[0][0]) / (GRID_CELLS * d->sdx);
  return TRUE;
}

/* The area (pixels²) and pixel bbox of a polygon or multipolygon: the
 * outer rings' areas less their holes'. FALSE on anything else. */
static gboolean
polygon_pixel_area (Draw *d, Cursor *c, gint32 type, double *area, double box[4])
{
  gint32 base = type % 1000, n_polys = 1, sub = type, rings, n;

  *area = 0;
  box[0] = box[1] = G_MAXDOUBLE;
  box[2] = box[3] = -G_MAXDOUBLE;
  if (base == 6 && !read_i32 (c, &n_polys))
    return FALSE;
  for (gint32 p = 0; p < n_polys; p++)
    {
      int dims;

      if (base == 6)
        {
          if (c->p >= c->end || *c->p != 0x69)
            return FALSE;
          c->p++;
          if (!read_i32 (c, &sub) || sub % 1000 != 3)
            return FALSE;
        }
      dims = dims_of (sub);
      if (dims == 0 || !read_i32 (c, &rings) || rings < 0)
        return FALSE;
      for (gint32 r = 0; r < rings; r++)
        {
          double a = 0, x0 = 0, y0 = 0, px = 0, py = 0;

          if (!read_i32 (c, &n) || n < 0 || (gsize) (c->end - c->p) < (gsize) n * dims * 8)
            return FALSE;
          for (gint32 k = 0; k < n; k++)
            {
              const guint8 *v = c->p + (gsize) k * dims * 8;
              double x, y;

              to_pixel (d, get_f64 (v, c->swap), get_f64 (v + 8, c->swap), &x, &y);
              if (isnan (x))
                return FALSE;
              if (k == 0)
                {
                  x0 = x;
                  y0 = y;
                }
              else
                a += px * y - x * py;
              px = x;
              py = y;
              box[0] = MIN (box[0], x);
              box[1] = MIN (box[1], y);
              box[2] = MAX (box[2], x);
              box[3] = MAX (box[3], y);
            }
          a += px * y0 - x0 * py;
          c->p += (gsize) n * dims * 8;
          *area += (r == 0 ? 1 : -1) * fabs (a) / 2;
        }
    }
  *area = MAX (0, *area);
  return TRUE;
}

/* The length (pixels) and pixel bbox of a line or multiline. */
static gboolean
line_pixel_length (Draw *d, Cursor *c, gint32 type, double *length, double box[4])
{
  gint32 base = type % 1000, n_lines = 1, sub = type, n;

  *length = 0;
  box[0] = box[1] = G_MAXDOUBLE;
  box[2] = box[3] = -G_MAXDOUBLE;
  if (base == 5 && !read_i32 (c, &n_lines))
    return FALSE;
  for (gint32 l = 0; l < n_lines; l++)
    {
      double px = 0, py = 0;
      int dims;

      if (base == 5)
        {
          if (c->p >= c->end || *c->p != 0x69)
            return FALSE;
          c->p++;
          if (!read_i32 (c, &sub) || sub % 1000 != 2)
            return FALSE;
        }
      dims = dims_of (sub);
      if (dims == 0 || !read_i32 (c, &n) || n < 0
          || (gsize) (c->end - c->p) < (gsize) n * dims * 8)
        return FALSE;
      for (gint32 k = 0; k < n; k++)
        {
          const guint8 *v = c->p + (gsize) k * dims * 8;
          double x, y;

          to_pixel (d, get_f64 (v, c->swap), get_f64 (v + 8, c->swap), &x, &y);
          if (isnan (x))
            return FALSE;
          if (k > 0)
            *length += hypot (x - px, y - py);
          px = x;
          py = y;
          box[0] = MIN (box[0], x);
          box[1] = MIN (box[1], y);
          box[2] = MAX (box[2], x);
          box[3] = MAX (box[3], y);
        }
      c->p += (gsize) n * dims * 8;
    }
  return box[0] <= box[2];
}

/* A feature to decode and draw, its blob copied out of SQLite. */
typedef struct {
  gint64             fid;
  const DothiSymbol *symbol;
  guint              offset;
  int                len;
  gboolean           outline;
} Pending;

static int
compare_pending (gconstpointer a, gconstpointer b)
{
  const Pending *pa = a, *pb = b;

  return (pa->fid > pb->fid) - (pa->fid < pb->fid);
}


static double
symbol_margin (const DothiStyle *style)
{
  double m = MAX (style->other.marker_size, style->other.stroke_width);

  for (guint i = 0; i < style->rules->len; i++)
    {
      const DothiStyleRule *r = style->rules->pdata[i];

      m = MAX (m, MAX (r->symbol.marker_size, r->symbol.stroke_width));
    }
  return m;
}

static const DothiSymbol *
lookup_symbol (const DothiStyle *style, sqlite3_stmt *stmt)
{
  switch (style->kind)
    {
    case DOTHI_STYLE_CATEGORISED:
      return dothi_style_lookup_text (style, (const char *) sqlite3_column_text (stmt, 1));
    case DOTHI_STYLE_GRADUATED:
      if (sqlite3_column_type (stmt, 1) == SQLITE_NULL)
        return style->draw_other ? &style->other : NULL;
      return dothi_style_lookup_number (style, sqlite3_column_double (stmt, 1));
    case DOTHI_STYLE_SINGLE:
    default:
      return &style->other;
    }
}

gboolean
dothi_tile_renderer_draw (DothiTileRenderer      *self,
                          const DothiRenderLayer *layer,
                          const DothiBlock       *block,
                          double                  scale,
                          DothiRenderFlags        flags,
                          cairo_t                *cr,
                          guint                  *n_drawn,
                          GCancellable           *cancellable,
                          GError                **error)
{
  const DothiStyle *style = layer->style;
  const char *field = style->kind == DOTHI_STYLE_SINGLE ? NULL : style->field;
  const DothiFidSet *selection = layer->selection;
  DothiSymbol small_symbol;
  Draw d = { 0 };
  g_autoptr(GArray) pending = NULL;
  g_autoptr(GByteArray) arena = NULL;
  sqlite3_stmt *stmt;
  double src[4];
  double outline_px, lod_px, small_px;
  guint row = 0;
  int rc;
  gboolean ok = TRUE;

  g_return_val_if_fail (self != NULL && layer != NULL && block != NULL, FALSE);

  if (n_drawn)
    *n_drawn = 0;
  if (layer->kind == DOTHI_GEOMETRY_KIND_NONE || layer->srid <= 0)
    return TRUE;
  if (selection != NULL && dothi_fid_set_get_size (selection) == 0)
    return TRUE;
  /* Scale-dependent visibility, in logical pixels. */
  if (style->max_resolution > 0 && block->resolution * scale > style->max_resolution * 1.0001)
    return TRUE;

  d.transform = get_transform (self, layer->srid, error);
  if (d.transform == NULL)
    return FALSE;
  d.scale = scale;
  d.reference = (flags & DOTHI_RENDER_REFERENCE) != 0;
  d.margin = ceil (symbol_margin (style) * scale) + 2;
  d.cr = cr;
  d.dots_box[0] = d.dots_box[1] = G_MAXINT;
  d.dots_box[2] = d.dots_box[3] = -1;
  d.highlight = selection != NULL;
  if (d.highlight)
    {
      /* Polygons too small for an outline: a denser fill instead. */
      small_symbol = style->other;
      dothi_color_parse (HIGHLIGHT_FILL_SMALL, &small_symbol.fill);
    }
  if (!setup_block_cached (self, &d, layer->srid, block, src))
    return TRUE;
  /* Nothing of the layer here: skip the query. */
  if (src[0] > layer->extent[2] || src[2] < layer->extent[0]
      || src[1] > layer->extent[3] || src[3] < layer->extent[1])
    return TRUE;

  stmt = get_statement (self, layer->name, field, FALSE, selection != NULL, error);
  if (stmt == NULL)
    return FALSE;
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, src[i]);
  self->selection = selection;

  d.pts = g_array_sized_new (FALSE, FALSE, sizeof (double), 4096);
  d.parts = g_array_sized_new (FALSE, FALSE, sizeof (Part), 256);
  pending = g_array_sized_new (FALSE, FALSE, sizeof (Pending), 1024);
  arena = g_byte_array_sized_new (65536);
  outline_px = style->outline_min_px * scale;
  /* Below a pixel both ways a feature is coverage; from one pixel up its
   * shape shows (splatting 1–2 px parcels moved 6.7 % of pixels). */
  lod_px = 1.0;
  small_px = SMALL_POLYGON_PX;
  if (flags & DOTHI_RENDER_PRINT)
    {
      lod_px *= MAX (scale, 1.0);
      small_px *= MAX (scale, 1.0);
    }

  cairo_save (cr);
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_DEFAULT);
  cairo_set_fill_rule (cr, CAIRO_FILL_RULE_WINDING);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const guint8 *blob;
      const DothiSymbol *symbol;
      double mbr[4], wpx, hpx;
      Cursor c;
      gint32 type;
      gint32 base;
      int len;

      if ((++row & 1023) == 0 && g_cancellable_is_cancelled (cancellable))
        break;
      /* dothi_selected() filtered the rows already; this costs nothing. */
      if (selection != NULL && !dothi_fid_set_contains (selection, sqlite3_column_int64 (stmt, 0)))
        continue;
      symbol = lookup_symbol (style, stmt);
      if (symbol == NULL)
        continue;
      blob = sqlite3_column_blob (stmt, 2);
      len = sqlite3_column_bytes (stmt, 2);
      if (!blob_header (blob, len, mbr, &c, &type))
        continue;
      base = type % 1000;
      wpx = (mbr[2] - mbr[0]) * d.px_per_unit;
      hpx = (mbr[3] - mbr[1]) * d.px_per_unit;
      d.n_drawn++;
      if (d.highlight && (base == 3 || base == 6) && MAX (wpx, hpx) < outline_px)
        symbol = &small_symbol;

      /* Level of detail: a polygon or line smaller than a pixel becomes
       * coverage in the pixels its bbox meets, without decoding it. */
      if (!d.reference && wpx < lod_px && hpx < lod_px && base != 1 && base != 4)
        {
          double cx, cy, cover;
          gboolean polygon = base == 3 || base == 6;

          if (d.dots == NULL)
            d.dots = g_new0 (float, (gsize) d.size * d.size * 4);
          to_pixel (&d, (mbr[0] + mbr[2]) / 2, (mbr[1] + mbr[3]) / 2, &cx, &cy);
          if (polygon)
            {
              cover = SUBPIXEL_FILL_RATIO;
              splat (&d, &symbol->fill, cx - wpx / 2, cy - hpx / 2,
                     cx + wpx / 2, cy + hpx / 2, cover);
            }
          else
            {
              /* A round-capped stroke of width w and length L covers
               * about L·w + π·w²/4 of the square around it. */
              double w = MAX (0.5, symbol->stroke_width) * scale;
              double l = MAX (wpx, hpx);
              double side = MAX (l, w);

              cover = MIN (1.0, (l * w + 0.785 * w * w) / (side * side));
              splat (&d, &symbol->stroke, cx - side / 2, cy - side / 2,
                     cx + side / 2, cy + side / 2, cover);
            }
          continue;
        }

      /* A polygon of a pixel or two: its exact area, spread over the
       * pixels its bbox meets, is what antialiasing would give within a
       * few levels, at a tenth of cairo's cost per polygon. */
      if (!d.reference && wpx < small_px && hpx < small_px
          && (base == 3 || base == 6))
        {
          double area, box[4];
          Cursor walk = c;

          if (polygon_pixel_area (&d, &walk, type, &area, box))
            {
              double bw = box[2] - box[0], bh = box[3] - box[1];

              if (d.dots == NULL)
                d.dots = g_new0 (float, (gsize) d.size * d.size * 4);
              if (bw * bh > 1e-9)
                splat (&d, &symbol->fill, box[0], box[1], box[2], box[3],
                       MIN (1.0, area / (bw * bh)));
              continue;
            }
        }

      /* Likewise a line of a pixel or two: its stroke's area, over its
       * bbox widened by half the stroke. */
      if (!d.reference && wpx < small_px && hpx < small_px
          && (base == 2 || base == 5))
        {
          double length, box[4];
          Cursor walk = c;

          if (line_pixel_length (&d, &walk, type, &length, box))
            {
              double w = MAX (0.5, symbol->stroke_width) * scale;
              double bw = box[2] - box[0] + w, bh = box[3] - box[1] + w;

              if (d.dots == NULL)
                d.dots = g_new0 (float, (gsize) d.size * d.size * 4);
              splat (&d, &symbol->stroke, box[0] - w / 2, box[1] - w / 2,
                     box[2] + w / 2, box[3] + w / 2,
                     MIN (1.0, (length * w + 0.785 * w * w) / (bw * bh)));
              continue;
            }
        }

      /* Kept for drawing in fid order, the same in every block. */
      {
        Pending p = { sqlite3_column_int64 (stmt, 0), symbol, arena->len, len,
                      MAX (wpx, hpx) >= outline_px };

        g_byte_array_append (arena, blob, len);
        g_array_append_val (pending, p);
      }
    }

  g_array_sort (pending, compare_pending);
  for (guint i = 0; i < pending->len; i++)
    {
      const Pending *p = &g_array_index (pending, Pending, i);
      double mbr[4];
      Cursor c;
      gint32 type;

      if (!blob_header (arena->data + p->offset, p->len, mbr, &c, &type))
        continue;
      if (p->symbol != d.symbol)
        {
          flush (&d);
          d.symbol = p->symbol;
        }
      add_geometry (&d, &c, type, p->outline);
    }
  flush (&d);
  if (d.dots)
    paint_dots (&d);
  cairo_restore (cr);

  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    ok = set_db_error (self, layer->name, error);
  sqlite3_reset (stmt);
  self->selection = NULL;
  if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  if (n_drawn)
    *n_drawn = d.n_drawn;
  g_array_unref (d.pts);
  g_array_unref (d.parts);
  g_free (d.dots);
  return ok;
}

/* ---- labels and outlines -------------------------------------------- */

/* The anchor of a line: the vertex at half its longest part's length. */
static gboolean
line_anchor (Cursor *c, gint32 type, double *ax, double *ay, double *length)
{
  gint32 base = type % 1000, n, sub, count = 1;
  int dims;
  double best = -1;

  if (base == 5 || base == 7)
    {
      if (!read_i32 (c, &count))
        return FALSE;
    }
  for (gint32 k = 0; k < count; k++)
    {
      gint32 t = type;
      double len = 0, half, acc = 0;
      const guint8 *start;

      if (base == 5 || base == 7)
        {
          if (c->p >= c->end || *c->p != 0x69)
            return FALSE;
          c->p++;
          if (!read_i32 (c, &sub))
            return FALSE;
          t = sub;
        }
      dims = dims_of (t);
      if (t % 1000 != 2 || dims == 0 || !read_i32 (c, &n) || n < 1
          || (gsize) (c->end - c->p) < (gsize) n * dims * 8)
        return best >= 0;
      start = c->p;
      for (gint32 i = 1; i < n; i++)
        len += hypot (get_f64 (start + i * dims * 8, c->swap) - get_f64 (start + (i - 1) * dims * 8, c->swap),
                      get_f64 (start + i * dims * 8 + 8, c->swap) - get_f64 (start + (i - 1) * dims * 8 + 8, c->swap));
      if (len > best)
        {
          best = len;
          half = len / 2;
          *ax = get_f64 (start, c->swap);
          *ay = get_f64 (start + 8, c->swap);
          for (gint32 i = 1; i < n; i++)
            {
              double x0 = get_f64 (start + (i - 1) * dims * 8, c->swap);
              double y0 = get_f64 (start + (i - 1) * dims * 8 + 8, c->swap);
              double x1 = get_f64 (start + i * dims * 8, c->swap);
              double y1 = get_f64 (start + i * dims * 8 + 8, c->swap);
              double seg = hypot (x1 - x0, y1 - y0);

              if (acc + seg >= half && seg > 0)
                {
                  double f = (half - acc) / seg;

                  *ax = x0 + f * (x1 - x0);
                  *ay = y0 + f * (y1 - y0);
                  break;
                }
              acc += seg;
            }
        }
      c->p = start + (gsize) n * dims * 8;
    }
  *length = best;
  return best >= 0;
}

static int
compare_labels (gconstpointer a, gconstpointer b)
{
  const DothiLabel *la = *(DothiLabel **) a, *lb = *(DothiLabel **) b;

  return (la->priority < lb->priority) - (la->priority > lb->priority);
}

GPtrArray *
dothi_tile_renderer_labels (DothiTileRenderer      *self,
                            const DothiRenderLayer *layer,
                            const double            bbox[4],
                            double                  resolution,
                            guint                   limit,
                            GCancellable           *cancellable,
                            GError                **error)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_label_free);
  const DothiStyle *style = layer->style;
  DothiMapTransform *transform;
  sqlite3_stmt *stmt;
  double src[4], px_per_unit, cx, cy, mx0, my0, mx1, my1;
  guint row = 0;
  int rc;

  if (style->label_field == NULL || layer->srid <= 0
      || resolution > style->label_max_resolution || !layer->visible)
    return g_steal_pointer (&labels);
  transform = get_transform (self, layer->srid, error);
  if (transform == NULL)
    return NULL;
  if (!dothi_map_transform_bbox_from_mercator (transform, bbox, src))
    return g_steal_pointer (&labels);
  /* Pixels per source unit at the viewport's centre. */
  cx = (src[0] + src[2]) / 2;
  cy = (src[1] + src[3]) / 2;
  if (!dothi_map_transform_to_mercator (transform, cx, cy, &mx0, &my0)
      || !dothi_map_transform_to_mercator (transform, cx + 100, cy, &mx1, &my1))
    return g_steal_pointer (&labels);
  px_per_unit = hypot (mx1 - mx0, my1 - my0) / 100 / resolution;

  stmt = get_statement (self, layer->name, style->label_field, FALSE, FALSE, error);
  if (stmt == NULL)
    return NULL;
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, src[i]);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *text = (const char *) sqlite3_column_text (stmt, 1);
      const guint8 *blob = sqlite3_column_blob (stmt, 2);
      double mbr[4], ax = 0, ay = 0, size, mx, my;
      gint32 type, base;
      Cursor c;
      DothiLabel *label;

      if ((++row & 1023) == 0 && g_cancellable_is_cancelled (cancellable))
        break;
      if (text == NULL || *text == '\0'
          || !blob_header (blob, sqlite3_column_bytes (stmt, 2), mbr, &c, &type))
        continue;
      base = type % 1000;
      if (base == 2 || base == 5)
        {
          double length = 0;

          if (!line_anchor (&c, type, &ax, &ay, &length))
            continue;
          size = length * px_per_unit;
          /* A street name needs room along the street. */
          if (size < 40)
            continue;
        }
      else
        {
          ax = (mbr[0] + mbr[2]) / 2;
          ay = (mbr[1] + mbr[3]) / 2;
          size = sqrt ((mbr[2] - mbr[0]) * (mbr[3] - mbr[1])) * px_per_unit;
          if ((base == 3 || base == 6) && size < 14)
            continue;
        }
      if (ax < src[0] || ax > src[2] || ay < src[1] || ay > src[3])
        continue;
      if (!dothi_map_transform_to_mercator (transform, ax, ay, &mx, &my))
        continue;
      label = g_new0 (DothiLabel, 1);
      label->mx = mx;
      label->my = my;
      label->priority = size;
      label->text = g_strdup (text);
      g_ptr_array_add (labels, label);
    }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      set_db_error (self, layer->name, error);
      sqlite3_reset (stmt);
      return NULL;
    }
  sqlite3_reset (stmt);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* Streets come in many segments: one label per name, the longest. */
  g_ptr_array_sort (labels, compare_labels);
  {
    g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_label_free);
    gboolean lines = layer->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING;

    for (guint i = 0; i < labels->len && kept->len < limit; i++)
      {
        DothiLabel *label = labels->pdata[i];

        if (lines && !g_hash_table_add (seen, label->text))
          continue;
        labels->pdata[i] = NULL;
        g_ptr_array_add (kept, label);
      }
    return g_steal_pointer (&kept);
  }
}

static void
outline_part (DothiMapTransform *t, Cursor *c, int dims, guint n, GPtrArray *out)
{
  GArray *pts = g_array_sized_new (FALSE, FALSE, sizeof (double), n * 2);

  for (guint k = 0; k < n; k++)
    {
      const guint8 *v = c->p + (gsize) k * dims * 8;
      double mx, my;

      if (dothi_map_transform_to_mercator (t, get_f64 (v, c->swap), get_f64 (v + 8, c->swap), &mx, &my))
        {
          g_array_append_val (pts, mx);
          g_array_append_val (pts, my);
        }
    }
  c->p += (gsize) n * dims * 8;
  g_ptr_array_add (out, pts);
}

static gboolean
outline_simple (DothiMapTransform *t, Cursor *c, gint32 type, GPtrArray *out)
{
  int dims = dims_of (type);
  gint32 n, m;

  if (dims == 0)
    return FALSE;
  switch (type % 1000)
    {
    case 1:
      if ((gsize) (c->end - c->p) < (gsize) dims * 8)
        return FALSE;
      outline_part (t, c, dims, 1, out);
      return TRUE;
    case 2:
      if (!read_i32 (c, &n) || n < 0 || (gsize) (c->end - c->p) < (gsize) n * dims * 8)
        return FALSE;
      outline_part (t, c, dims, n, out);
      return TRUE;
    case 3:
      if (!read_i32 (c, &m) || m < 0)
        return FALSE;
      for (gint32 r = 0; r < m; r++)
        {
          if (!read_i32 (c, &n) || n < 0 || (gsize) (c->end - c->p) < (gsize) n * dims * 8)
            return FALSE;
          outline_part (t, c, dims, n, out);
        }
      return TRUE;
    default:
      return FALSE;
    }
}

GPtrArray *
dothi_tile_renderer_outline (DothiTileRenderer      *self,
                             const DothiRenderLayer *layer,
                             gint64                  fid,
                             GError                **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  DothiMapTransform *t;
  sqlite3_stmt *stmt;
  double mbr[4];
  gint32 type, n, sub;
  Cursor c;
  int rc;

  t = get_transform (self, layer->srid, error);
  if (t == NULL)
    return NULL;
  stmt = get_statement (self, layer->name, NULL, TRUE, FALSE, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, fid);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW
      && blob_header (sqlite3_column_blob (stmt, 2), sqlite3_column_bytes (stmt, 2), mbr, &c, &type))
    {
      gint32 base = type % 1000;

      if (base >= 4 && base <= 7)
        {
          if (read_i32 (&c, &n))
            for (gint32 k = 0; k < n && c.p < c.end && *c.p == 0x69; k++)
              {
                c.p++;
                if (!read_i32 (&c, &sub) || !outline_simple (t, &c, sub, out))
                  break;
              }
        }
      else
        outline_simple (t, &c, type, out);
    }
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      set_db_error (self, layer->name, error);
      sqlite3_reset (stmt);
      return NULL;
    }
  sqlite3_reset (stmt);
  return g_steal_pointer (&out);
}

gboolean
dothi_tile_renderer_prepare (DothiTileRenderer      *self,
                             const DothiRenderLayer *layer,
                             GError                **error)
{
  const DothiStyle *style = layer->style;

  if (layer->kind == DOTHI_GEOMETRY_KIND_NONE || layer->srid <= 0)
    return TRUE;
  return get_transform (self, layer->srid, error) != NULL
         && get_statement (self, layer->name,
                           style->kind == DOTHI_STYLE_SINGLE ? NULL : style->field,
                           FALSE, layer->selection != NULL, error) != NULL;
}
