/* dothi-map-view.h: the map: a ShumateMap with one DothiTileLayer per
 * project layer, labels, the identify highlight and an optional basemap. */
#pragma once

#include <adwaita.h>
#include <shumate/shumate.h>
#include "dothi-project.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_BASEMAP_NONE,
  DOTHI_BASEMAP_MBTILES,   /* an offline raster MBTiles file */
  DOTHI_BASEMAP_ONLINE,    /* an XYZ URL template chosen by the user */
} DothiBasemapKind;

#define DOTHI_TYPE_MAP_VIEW (dothi_map_view_get_type ())
G_DECLARE_FINAL_TYPE (DothiMapView, dothi_map_view, DOTHI, MAP_VIEW, AdwBin)

GtkWidget    *dothi_map_view_new (void);

/* Shows the layers of @project (NULL: nothing) and zooms to its extent.
 * The view reads the registry (order, visibility, opacity, styles) itself
 * and follows changes to the file, whoever made them. */
void          dothi_map_view_set_project (DothiMapView *self,
                                          DothiProject *project);
DothiProject *dothi_map_view_get_project (DothiMapView *self);

/* Re-reads the registry: after the layer panel changed order or styles. */
void          dothi_map_view_reload_layers (DothiMapView *self);
/* Instant feedback while a slider moves; the panel stores the value. */
void          dothi_map_view_set_layer_visible (DothiMapView *self,
                                                const char   *layer,
                                                gboolean      visible);
void          dothi_map_view_set_layer_opacity (DothiMapView *self,
                                                const char   *layer,
                                                double        opacity);

/* @bbox in the project CRS (minx miny maxx maxy). */
void          dothi_map_view_zoom_to_bbox  (DothiMapView *self,
                                            const double  bbox[4]);
void          dothi_map_view_zoom_to_layer (DothiMapView *self,
                                            const char   *layer);
void          dothi_map_view_zoom_to_project (DothiMapView *self);
void          dothi_map_view_zoom_in  (DothiMapView *self);
void          dothi_map_view_zoom_out (DothiMapView *self);

/* Outlines one feature (identify, search); NULL layer clears it. */
void          dothi_map_view_highlight (DothiMapView *self,
                                        const char   *layer,
                                        gint64        fid);

/* @location: the MBTiles path, or the URL template
 * (https://…/{z}/{x}/{y}.png) for an online server. Errors reach the
 * window through the "error" signal. */
void          dothi_map_view_set_basemap (DothiMapView     *self,
                                          DothiBasemapKind  kind,
                                          const char       *location);

/* The map scale as N in 1:N at the screen's resolution (96 dpi at scale 1). */
double        dothi_map_view_get_scale_denominator (DothiMapView *self);
/* TRUE while tiles are still being drawn. */
gboolean      dothi_map_view_get_busy (DothiMapView *self);

/* The ShumateMap inside (for tests and the window's actions); borrowed. */
ShumateMap   *dothi_map_view_get_map (DothiMapView *self);
/* The number of labels placed in the current viewport (for tests). */
guint         dothi_map_view_get_n_labels (DothiMapView *self);

/* Signals:
 *  "pointer-moved" (double x, double y, double lat, double lon): the
 *     pointer in the project CRS (easting, northing) and WGS 84;
 *  "pointer-left" ();
 *  "clicked" (double x, double y, double tolerance): a primary click, in
 *     the project CRS, with a tolerance of a few pixels in metres;
 *  "map-complete" (): every visible tile of the viewport is drawn;
 *  "error" (GError*): a tile or basemap failed (shown as a toast).
 * Properties: "scale-denominator" (double), "busy" (boolean). */

G_END_DECLS
