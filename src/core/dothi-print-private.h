/* dothi-print-private.h: what the print job shares with its item drawers
 * (dothi-print-items.c) and the parcel extract (dothi-parcel-extract.c).
 * Cairo's user space is the page in millimetres, origin top-left. */
#pragma once

#include <cairo.h>
#include <pango/pangocairo.h>
#include <sqlite3.h>
#include "dothi-layout.h"
#include "dothi-layer-info.h"
#include "dothi-print.h"
#include "dothi-style.h"
#include "dothi-tile-renderer.h"

G_BEGIN_DECLS

/* Points in a millimetre, and the text font (fonts-noto-core). */
#define DOTHI_PT_PER_MM (72.0 / 25.4)
#define DOTHI_PRINT_FONT "Noto Sans"

/* A map frame as resolved for the page being drawn. */
typedef struct {
  JsonObject *item;       /* borrowed */
  const char *id;         /* "map" when the item has none */
  double      x, y, w, h; /* on the page, mm */
  double      extent[4];  /* project CRS shown in the frame (minx miny maxx maxy) */
  double      scale;      /* N of 1:N */
  GPtrArray  *layers;     /* DothiRenderLayer*, bottom first */
} DothiPrintMap;

typedef struct {
  sqlite3        *db;          /* read-only, dothi_fold registered; any query */
  char           *project_path;
  int             srid;
  char           *crs_name;    /* "VN-2000 / TM-3 108°30′" */
  GPtrArray      *layers;      /* DothiLayerInfo*, registry order (z-order) */
  GHashTable     *styles;      /* table name -> DothiStyle* */
  DothiTileRenderer *renderer;
  DothiLayout    *layout;      /* the one being drawn, borrowed */
  GPtrArray      *maps;        /* DothiPrintMap* of this page */
  GHashTable     *vars;        /* {name} -> text: page, pages, scale, date, atlas fields */
  GHashTable     *recordings;  /* a frame drawn before (an atlas's overview): key -> recording surface */
  double          page_w, page_h;  /* mm */
  double          dpi;
  GCancellable   *cancellable;
} DothiPrintContext;

/* The map frame @id (NULL: the first) of the page, or NULL. */
DothiPrintMap *dothi_print_context_find_map (DothiPrintContext *ctx, const char *id);
/* A layer's info (borrowed) or NULL. */
const DothiLayerInfo *dothi_print_context_find_layer (DothiPrintContext *ctx, const char *name);
/* @text with {name} replaced from ctx->vars (unknown names left as they
 * are). Free with g_free. */
char *dothi_print_expand (DothiPrintContext *ctx, const char *text);
/* A pango layout in @cr with DOTHI_PRINT_FONT at @size_pt (bold or not),
 * width @width_mm (0: no wrapping); cairo user space in mm. */
PangoLayout *dothi_print_text_layout (cairo_t *cr, const char *text, double size_pt,
                                      gboolean bold, double width_mm);
/* Draws the features of @map's layers into its frame (clipped) with the
 * tile renderer in the project CRS. (dothi-print.c) */
gboolean dothi_print_draw_map_features (cairo_t *cr, DothiPrintContext *ctx,
                                        DothiPrintMap *map, GError **error);

/* Item drawers (dothi-print-items.c). Each draws @item (its "x" "y" "w"
 * "h" in mm) and returns FALSE with @error only on a real failure (an
 * unreadable image, a bad table query): a missing optional property has
 * a default. */
gboolean dothi_print_draw_map_grid   (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map, GError **error);
gboolean dothi_print_draw_map_labels (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map, GError **error);
gboolean dothi_print_draw_overview   (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_legend     (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_scale_bar  (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_north_arrow (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_title_block (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_text       (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_image      (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_table      (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);
gboolean dothi_print_draw_frame      (cairo_t *cr, DothiPrintContext *ctx, JsonObject *item, GError **error);

/* A "nice" scale bar length for a frame of @metres across: 1, 2, 5 × 10^k. */
double dothi_print_nice_length (double metres);
/* Numbers in the Vietnamese way: "1.234,5" (grouping dot, decimal comma). */
char  *dothi_print_format_number (double value, int decimals);

/* The context the printer keeps; dothi-parcel-extract.c makes its own
 * page with it. (dothi-print.c) */
DothiPrintContext *dothi_printer_get_context (DothiPrinter *printer);

G_END_DECLS
