/* dothi-map-view.h: the map: a ShumateMap with one DothiTileLayer per
 * project layer, a query result's highlight, labels, the identify
 * highlight and an optional basemap. */
#pragma once

#include <adwaita.h>
#include <shumate/shumate.h>
#include "dothi-fid-set.h"
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

/* ---- editing (issue 5) ---------------------------------------------- */

typedef enum {
  DOTHI_EDIT_TOOL_NONE,
  DOTHI_EDIT_TOOL_ADD_POINT,
  DOTHI_EDIT_TOOL_ADD_LINE,
  DOTHI_EDIT_TOOL_ADD_POLYGON,
  DOTHI_EDIT_TOOL_EDIT_VERTICES,   /* drag, add (on a segment), delete (right click/Delete) */
  DOTHI_EDIT_TOOL_MOVE_FEATURE,
  DOTHI_EDIT_TOOL_DELETE_FEATURE,
  DOTHI_EDIT_TOOL_SPLIT_PARCEL,    /* draw a line across a parcel */
  DOTHI_EDIT_TOOL_SELECT,          /* click/shift-click features (merge) */
} DothiEditTool;

/* Starts @tool on @layer (a table of the project; NULL with TOOL_NONE).
 * Clicks then draw on the map; Enter finishes, Escape cancels, Backspace
 * removes the last vertex. A finished edit is applied as one action:
 * "edit-finished" (gint64 action_id) or "edit-failed" (GError*). A tool
 * the layer cannot take (a line on a polygon layer, any edit of a
 * read-only project) fails at once with "edit-failed" and leaves
 * TOOL_NONE. While a tool is active the primary click never emits
 * "clicked"; dragging still pans unless it grabs a vertex or, with
 * TOOL_MOVE_FEATURE, a feature. Point features are added at the click.
 * TOOL_MOVE_FEATURE and TOOL_DELETE_FEATURE apply at the end of the drag
 * or at the click. TOOL_EDIT_VERTICES applies on Enter (or when another
 * feature is picked). The sketch is kept in the layer CRS. */
void          dothi_map_view_set_edit_tool (DothiMapView  *self,
                                            DothiEditTool  tool,
                                            const char    *layer);
DothiEditTool dothi_map_view_get_edit_tool (DothiMapView *self);
/* The table the tool works on, or NULL. */
const char   *dothi_map_view_get_edit_layer (DothiMapView *self);
/* The fids the last finished edit inserted (the new feature of an add
 * tool, the parts of a split), for the form the window opens after
 * "edit-finished"; GArray of gint64, borrowed, empty after other edits. */
GArray       *dothi_map_view_get_last_edit_fids (DothiMapView *self);
/* Layers whose vertices and segments attract the pointer within
 * @tolerance_px pixels (distances are computed in the layer CRS; a
 * vertex beats a segment). NULL or empty: no snapping. */
void          dothi_map_view_set_snapping  (DothiMapView       *self,
                                            const char * const *layers,
                                            double              tolerance_px);
/* A vertex typed in the project CRS, survey convention: X northing,
 * Y easting (metres), as if clicked: it snaps like a click at the
 * current scale. Only the add and split tools take typed vertices. */
void          dothi_map_view_add_typed_vertex (DothiMapView *self,
                                               double        x_northing,
                                               double        y_easting);
gboolean      dothi_map_view_finish_edit   (DothiMapView *self);
void          dothi_map_view_cancel_edit   (DothiMapView *self);
/* The features picked with TOOL_SELECT (GArray of gint64, borrowed). */
GArray       *dothi_map_view_get_selection (DothiMapView *self);
/* The table the selection belongs to, or NULL. */
const char   *dothi_map_view_get_selection_layer (DothiMapView *self);
/* Selects (and highlights) @fids of @layer: from the attribute table.
 * NULL @layer clears it. Does not emit "selection-changed". */
void          dothi_map_view_set_selection (DothiMapView  *self,
                                            const char    *layer,
                                            const gint64  *fids,
                                            guint          n_fids);

/* ---- query results (issue 6) ------------------------------------------ */

/* Shows @fids (referenced) of @layer (a table of the project) as the
 * query result: its features drawn as highlight tiles by the render pool
 * (dothi_render_layer_new_selection), in one layer above every project
 * layer and below the labels and the edit overlay, never from the disk
 * cache. Replaces any earlier result; NULL @layer or @fids clears it. The
 * result follows edits of its layer, is redrawn when the layers are
 * reloaded, disappears with its layer, and is cleared with the project.
 * It is independent of the edit selection (set_selection). */
void          dothi_map_view_show_result (DothiMapView *self,
                                          const char   *layer,
                                          DothiFidSet  *fids);
/* The result shown, or NULL; borrowed. */
DothiFidSet  *dothi_map_view_get_result  (DothiMapView *self);
/* The table the result belongs to, or NULL when there is none. */
const char   *dothi_map_view_get_result_layer (DothiMapView *self);

/* The map scale as N in 1:N at the screen's resolution (96 dpi at scale 1). */
double        dothi_map_view_get_scale_denominator (DothiMapView *self);
/* TRUE while tiles are still being drawn. */
gboolean      dothi_map_view_get_busy (DothiMapView *self);

/* The ShumateMap inside (for tests and the window's actions); borrowed. */
ShumateMap   *dothi_map_view_get_map (DothiMapView *self);
/* The number of labels placed in the current viewport (for tests). */
guint         dothi_map_view_get_n_labels (DothiMapView *self);

/* Adds @layer (a ShumateLayer on this map's viewport, referenced by the
 * map while added) above the project layers, the query result and the
 * labels, below the edit overlay: live sensors and incidents. It stays
 * when the project changes, until remove_overlay. */
void          dothi_map_view_add_overlay    (DothiMapView *self,
                                             ShumateLayer *layer);
void          dothi_map_view_remove_overlay (DothiMapView *self,
                                             ShumateLayer *layer);

/* Signals:
 *  "pointer-moved" (double x, double y, double lat, double lon): the
 *     pointer in the project CRS (easting, northing) and WGS 84;
 *  "pointer-left" ();
 *  "clicked" (double x, double y, double tolerance): a primary click, in
 *     the project CRS, with a tolerance of a few pixels in metres;
 *  "map-complete" (): every visible tile of the viewport is drawn;
 *  "error" (GError*): a tile or basemap failed (shown as a toast);
 *  "edit-finished" (gint64 action_id), "edit-failed" (GError*);
 *  "selection-changed" (): the user changed the selection on the map;
 *  "file-changed" (gboolean registry_changed): another connection (QGIS,
 *     the live engine, a second window) changed features, or layers. 
 * Properties: "scale-denominator" (double), "busy" (boolean). */

G_END_DECLS
