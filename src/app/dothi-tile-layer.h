/* dothi-tile-layer.h: one project layer on the map: its own grid of
 * XYZ tiles drawn by the core's render pool, held as GdkTextures in an LRU,
 * with opacity and visibility applied when drawn (DESIGN.md §5). */
#pragma once

#include <shumate/shumate.h>
#include "dothi-render-pool.h"

G_BEGIN_DECLS

/* Where the viewport is, in Web Mercator: the widget centre (cx, cy), the
 * metres per logical pixel, the widget size and the rotation (radians).
 * Shared by the map's layers so every one converts the same way. */
typedef struct {
  double cx, cy;
  double resolution;
  double zoom;
  double width, height;
  double rotation;
} DothiMapFrame;

/* FALSE when the viewport has no size yet. */
gboolean dothi_map_frame_init       (DothiMapFrame   *frame,
                                     ShumateViewport *viewport,
                                     GtkWidget       *widget);
/* Widget coordinates of Web Mercator (@mx, @my), with the rotation. */
void     dothi_map_frame_to_widget  (const DothiMapFrame *frame,
                                     double mx, double my,
                                     double *x, double *y);
void     dothi_map_frame_to_mercator (const DothiMapFrame *frame,
                                      double x, double y,
                                      double *mx, double *my);
/* The Web Mercator bbox that covers the widget (all of it when rotated). */
void     dothi_map_frame_get_bbox   (const DothiMapFrame *frame,
                                     double               bbox[4]);

/* Web Mercator ↔ WGS 84 (spherical, as the map draws them). */
void     dothi_mercator_to_lat_lon  (double mx, double my,
                                     double *lat, double *lon);
void     dothi_lat_lon_to_mercator  (double lat, double lon,
                                     double *mx, double *my);

/* The XYZ tiles the map shows for @frame: returns the zoom, and the
 * inclusive column and row range. */
int      dothi_map_frame_tile_range (const DothiMapFrame *frame,
                                     gint64 *x0, gint64 *y0,
                                     gint64 *x1, gint64 *y1);
/* Where tile (z, x, y) lands in widget space (before rotation), edges on
 * device pixels. */
void     dothi_map_frame_tile_rect  (const DothiMapFrame *frame,
                                     double               scale,
                                     int z, gint64 x, gint64 y,
                                     graphene_rect_t     *rect);

/* Calls @callback (swapped: @object first) whenever the viewport moves,
 * zooms or turns, for as long as @object lives. */
void     dothi_viewport_connect_moved (ShumateViewport *viewport,
                                       GCallback        callback,
                                       gpointer         object);

/* TRUE when the flattened map @cover draws tile (z, x, y) in this
 * layer's place. */
typedef gboolean (*DothiTileCoverFunc) (int z, gint64 x, gint64 y, GtkWidget *cover);

#define DOTHI_TYPE_TILE_LAYER (dothi_tile_layer_get_type ())
G_DECLARE_FINAL_TYPE (DothiTileLayer, dothi_tile_layer, DOTHI, TILE_LAYER, ShumateLayer)

/* @pool and @layer are referenced. The layer's visible and opacity fields
 * give the initial state. */
DothiTileLayer   *dothi_tile_layer_new (ShumateViewport  *viewport,
                                        DothiRenderPool  *pool,
                                        DothiRenderLayer *layer);

const char       *dothi_tile_layer_get_name         (DothiTileLayer *self);
DothiRenderLayer *dothi_tile_layer_get_render_layer (DothiTileLayer *self);
/* A new style or extent for the same table: every tile is drawn again,
 * the old ones shown until the new ones arrive. */
void              dothi_tile_layer_set_render_layer (DothiTileLayer   *self,
                                                     DothiRenderLayer *layer);

/* The layer's extent in Web Mercator: tiles outside it (with a margin for
 * symbols) are known to be empty and never asked for. NULL: unknown. */
void              dothi_tile_layer_set_extent (DothiTileLayer *self,
                                               const double   *merc_bbox);

/* Applied at the next frame, never by drawing tiles again. */
void              dothi_tile_layer_set_layer_visible (DothiTileLayer *self,
                                                      gboolean        visible);
gboolean          dothi_tile_layer_get_layer_visible (DothiTileLayer *self);
void              dothi_tile_layer_set_opacity       (DothiTileLayer *self,
                                                      double          opacity);
double            dothi_tile_layer_get_opacity       (DothiTileLayer *self);

/* Drops the held tiles that meet @merc_bbox (Web Mercator; NULL: all) and
 * asks again for the visible ones, showing the old pictures meanwhile. */
void              dothi_tile_layer_invalidate_bbox (DothiTileLayer *self,
                                                    const double   *merc_bbox);

/* Asks for the visible tiles at once instead of at the next idle: when
 * the map is first laid out, so they render while the frame paints. */
void              dothi_tile_layer_update_now (DothiTileLayer *self);
/* "busy": requests are pending. */
gboolean          dothi_tile_layer_get_busy     (DothiTileLayer *self);
/* TRUE when every tile of the current viewport is in (or the layer is
 * hidden). The "tiles-complete" signal is emitted when this turns TRUE. */
gboolean          dothi_tile_layer_get_complete (DothiTileLayer *self);

/* The tile (z, x, y) as it is drawn now: TRUE when it is in and current,
 * with *@pixels (borrowed; NULL for an empty tile). */
gboolean          dothi_tile_layer_peek (DothiTileLayer *self,
                                         int z, gint64 x, gint64 y,
                                         GBytes        **pixels);
/* Tiles @func claims are left to the flattened map @cover (a
 * DothiFlatLayer), which is drawn again whenever this layer is. */
void              dothi_tile_layer_set_cover_func (DothiTileLayer     *self,
                                                   DothiTileCoverFunc  func,
                                                   GtkWidget          *cover);

/* Signals: "tiles-complete" (); "tile-failed" (GError*): a tile could not
 * be drawn (reported once until the layer is invalidated). */

G_END_DECLS
