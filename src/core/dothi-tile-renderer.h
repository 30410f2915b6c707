/* dothi-tile-renderer.h: draws one layer's features into a block of
 * pixels in Web Mercator with cairo (ARGB32, premultiplied), reading them
 * through the spatial index. One renderer per thread: it owns its SQLite
 * connection and PROJ context (DESIGN.md §5, §7). */
#pragma once

#include <gio/gio.h>
#include <cairo.h>
#include "dothi-fid-set.h"
#include "dothi-layer-info.h"
#include "dothi-style.h"

G_BEGIN_DECLS

/* What a worker needs of a layer: a copy, safe to share between threads. */
typedef struct {
  char              *name;     /* table name */
  char              *title;
  DothiGeometryKind  kind;
  int                srid;
  double             extent[4];   /* layer CRS */
  DothiStyle        *style;
  guint64            style_revision;
  double             opacity;
  gboolean           visible;
  /* NULL for a project layer. Set: a highlight layer (a query's result,
   * see dothi_render_layer_new_selection) drawing only these features. */
  DothiFidSet       *selection;
} DothiRenderLayer;

#define DOTHI_TYPE_RENDER_LAYER (dothi_render_layer_get_type ())
GType             dothi_render_layer_get_type (void) G_GNUC_CONST;
/* @style is referenced. */
DothiRenderLayer *dothi_render_layer_new   (const DothiLayerInfo *info,
                                            DothiStyle           *style);
/* A highlight layer over @info's table: only the features whose fid is in
 * @fids (referenced) are drawn, in a fixed highlight style that reads on
 * any land-use colour (a translucent cyan fill with a dark-cased cyan
 * outline, thick cased lines, a ringed dot for points; sizes times the
 * device scale; features under an outline's size as a denser fill), at
 * every scale. visible is TRUE and opacity 1. Its blocks are never read
 * from or written to the disk cache, and a composite that holds one is
 * not cached either; name is the table's, style_revision also hashes
 * @fids. */
DothiRenderLayer *dothi_render_layer_new_selection (const DothiLayerInfo *info,
                                                    DothiFidSet          *fids);
DothiRenderLayer *dothi_render_layer_ref   (DothiRenderLayer *layer);
void              dothi_render_layer_unref (DothiRenderLayer *layer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiRenderLayer, dothi_render_layer_unref)

/* A block of the global pixel grid at @resolution (Web Mercator metres per
 * pixel, origin at the world's top-left corner): pixel (i, j) covers
 * [-H + i·r, -H + (i+1)·r] × [H - (j+1)·r, H - j·r]. At the resolution of
 * an integer zoom and @size 256 a block is exactly the XYZ tile (x, y). */
typedef struct {
  double  resolution;
  gint64  x;        /* block column */
  gint64  y;        /* block row */
  int     size;     /* pixels per side */
  /* Paper: when set, the grid lies in the layer's own CRS (the project
   * CRS, straight on the sheet) instead of Web Mercator, @resolution is
   * in its units a pixel, and pixel (i, j) of block (x, y) covers
   * [ox + (x·size + i)·r, ox + (x·size + i + 1)·r] ×
   * [oy - (y·size + j + 1)·r, oy - (y·size + j)·r]. */
  gboolean projected;
  double   origin_x;   /* ox */
  double   origin_y;   /* oy */
} DothiBlock;

typedef enum {
  DOTHI_RENDER_DEFAULT   = 0,
  /* Every feature decoded and drawn, no level of detail: the reference
   * against which the level of detail is measured. */
  DOTHI_RENDER_REFERENCE = 1 << 0,
  /* Paper: the level of detail goes by the size a feature shows at
   * @scale (screen pixels), not by paper pixels, so what reads on screen
   * at this scale is vector and the rest is coverage at the print's
   * resolution. */
  DOTHI_RENDER_PRINT     = 1 << 1,
} DothiRenderFlags;

typedef struct _DothiTileRenderer DothiTileRenderer;

/* Opens @path read-only (query_only, no WAL change) for this thread. */
DothiTileRenderer *dothi_tile_renderer_new  (const char  *path,
                                             GError     **error);
void               dothi_tile_renderer_free (DothiTileRenderer *self);

/* Draws @layer into @cr, whose origin is the block's top-left pixel and
 * whose unit is one pixel (the caller has cleared it). @scale multiplies
 * the style's sizes (device scale). Returns FALSE with @error on a read
 * error or G_IO_ERROR_CANCELLED. *@n_drawn (may be NULL) gets the number of
 * features that touched the block. */
gboolean dothi_tile_renderer_draw (DothiTileRenderer      *self,
                                   const DothiRenderLayer *layer,
                                   const DothiBlock       *block,
                                   double                  scale,
                                   DothiRenderFlags        flags,
                                   cairo_t                *cr,
                                   guint                  *n_drawn,
                                   GCancellable           *cancellable,
                                   GError                **error);

/* Does now what the first draw of @layer would do first: its PROJ
 * transformation and prepared statement. */
gboolean dothi_tile_renderer_prepare (DothiTileRenderer      *self,
                                      const DothiRenderLayer *layer,
                                      GError                **error);

/* A label candidate: anchor in Web Mercator metres, text, and a priority
 * (larger first: a feature's size in pixels). */
typedef struct {
  double  mx, my;
  double  priority;
  char   *text;
} DothiLabel;

void dothi_label_free (DothiLabel *label);

/* Label candidates of @layer inside @bbox (Web Mercator) at @resolution,
 * per its style's label field; empty when the style has none or the
 * resolution is coarser than its label_max_resolution. At most @limit,
 * largest first. */
GPtrArray *dothi_tile_renderer_labels (DothiTileRenderer      *self,
                                       const DothiRenderLayer *layer,
                                       const double            bbox[4],
                                       double                  resolution,
                                       guint                   limit,
                                       GCancellable           *cancellable,
                                       GError                **error);

/* The geometry of feature @fid in Web Mercator metres: GArray of double
 * x, y pairs, one per ring, line or point; empty if there is no such
 * feature. */
GPtrArray *dothi_tile_renderer_outline (DothiTileRenderer      *self,
                                        const DothiRenderLayer *layer,
                                        gint64                  fid,
                                        GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiTileRenderer, dothi_tile_renderer_free)

G_END_DECLS
