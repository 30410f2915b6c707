/* dothi-edit-layer.h: the sketch edited on the map, kept in the layer CRS
 * (ISO WKB in and out, and the small measures snapping and picking need),
 * and DothiEditLayer, the overlay above the labels that draws it with its
 * vertex handles, rubber band, snap marker and the selection. */
#pragma once

#include <shumate/shumate.h>
#include "dothi-layer-info.h"
#include "dothi-map-transform.h"

G_BEGIN_DECLS

/* ---- the sketch --------------------------------------------------------- */

/* One vertex in the layer CRS (metres); z and m ride along for 3D layers. */
typedef struct {
  double x, y, z, m;
} DothiEditVertex;

/* A point, a line or one ring of a polygon. */
typedef struct {
  guint     part;       /* which point, line or polygon of the multi geometry */
  gboolean  closed;     /* a polygon ring: the closing vertex is implied */
  GArray   *vertices;   /* DothiEditVertex */
} DothiEditPath;

typedef struct {
  DothiGeometryKind  kind;    /* MULTIPOINT, MULTILINESTRING or MULTIPOLYGON */
  gboolean           has_z;
  gboolean           has_m;
  GPtrArray         *paths;   /* DothiEditPath*, in part order, outer ring first */
} DothiEditGeometry;

DothiEditGeometry *dothi_edit_geometry_new      (DothiGeometryKind        kind,
                                                 gboolean                 has_z,
                                                 gboolean                 has_m);
/* Any ISO or EWKB-free WKB point, line, polygon or multi of them, either
 * byte order; NULL when malformed or a kind that cannot be edited
 * (collections, curves). */
DothiEditGeometry *dothi_edit_geometry_new_from_wkb (const guint8 *wkb,
                                                     gsize         wkb_len);
DothiEditGeometry *dothi_edit_geometry_copy     (const DothiEditGeometry *geometry);
void               dothi_edit_geometry_free     (DothiEditGeometry       *geometry);
DothiEditPath     *dothi_edit_geometry_add_path (DothiEditGeometry       *geometry,
                                                 guint                    part,
                                                 gboolean                 closed);
guint              dothi_edit_geometry_get_n_vertices (const DothiEditGeometry *geometry);
/* FALSE when it has no vertex. */
gboolean           dothi_edit_geometry_get_bbox (const DothiEditGeometry *geometry,
                                                 double                   bbox[4]);
void               dothi_edit_geometry_translate (DothiEditGeometry      *geometry,
                                                  double                  dx,
                                                  double                  dy);
/* Vertices of @path that differ from the one before (and, for a ring,
 * from the first). */
guint              dothi_edit_path_count_distinct (const DothiEditPath *path);
/* ISO WKB, little-endian, of the geometry's MULTI* kind and dimension;
 * rings closed, repeated vertices dropped. */
GBytes            *dothi_edit_geometry_to_wkb   (const DothiEditGeometry *geometry);
/* ISO WKB LINESTRING of @path (2D), for the split line. */
GBytes            *dothi_edit_path_to_line_wkb  (const DothiEditPath     *path);

/* Distance from (@x, @y) to the geometry: 0 inside a polygon, else to the
 * nearest vertex or segment. */
double             dothi_edit_geometry_distance (const DothiEditGeometry *geometry,
                                                 double                   x,
                                                 double                   y);
double             dothi_edit_geometry_area     (const DothiEditGeometry *geometry);
/* TRUE when @line passes through the inside of polygon @geometry between
 * two crossings of its boundary (it goes across, not just into it). */
gboolean           dothi_edit_geometry_crossed_by (const DothiEditGeometry *geometry,
                                                   const DothiEditPath     *line);

typedef enum {
  DOTHI_SNAP_NONE,
  DOTHI_SNAP_VERTEX,
  DOTHI_SNAP_SEGMENT,
} DothiSnapKind;

typedef struct {
  DothiSnapKind kind;
  double        x, y;        /* the snapped point, layer CRS */
  double        distance;
} DothiSnap;

/* Improves @best with the vertices and segments of @geometry within
 * @tolerance of (@x, @y): a vertex always beats a segment, then the
 * nearer wins. Vertex coordinates are copied bit for bit. */
void               dothi_edit_geometry_snap     (const DothiEditGeometry *geometry,
                                                 double                   x,
                                                 double                   y,
                                                 double                   tolerance,
                                                 DothiSnap               *best);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiEditGeometry, dothi_edit_geometry_free)

/* ---- the overlay -------------------------------------------------------- */

#define DOTHI_TYPE_EDIT_LAYER (dothi_edit_layer_get_type ())
G_DECLARE_FINAL_TYPE (DothiEditLayer, dothi_edit_layer, DOTHI, EDIT_LAYER, ShumateLayer)

DothiEditLayer *dothi_edit_layer_new          (ShumateViewport *viewport);

/* Shows @geometry (copied for display; NULL: nothing), whose layer CRS
 * @transform maps to Web Mercator (borrowed, main thread; it must outlive
 * the sketch). @handles: draw a square on every vertex. */
void            dothi_edit_layer_set_sketch   (DothiEditLayer          *self,
                                               const DothiEditGeometry *geometry,
                                               DothiMapTransform       *transform,
                                               gboolean                 handles);
/* A dashed segment from the last vertex of path @path to (@x, @y) in the
 * sketch's CRS, and on to its first vertex for a ring; @path < 0 hides it. */
void            dothi_edit_layer_set_rubber_band (DothiEditLayer *self,
                                                  int             path,
                                                  double          x,
                                                  double          y);
/* The snap marker (a square on a vertex, a diamond on a segment). */
void            dothi_edit_layer_set_snap     (DothiEditLayer *self,
                                               DothiSnapKind   kind,
                                               double          x,
                                               double          y);
/* The vertex under the pointer, drawn larger; @path < 0 for none. */
void            dothi_edit_layer_set_hover    (DothiEditLayer *self,
                                               int             path,
                                               int             vertex);
/* Outlines of the selected features in Web Mercator (a GPtrArray of
 * GArray of x, y pairs, as the render pool gives them; taken), or NULL. */
void            dothi_edit_layer_set_selection (DothiEditLayer *self,
                                                GPtrArray      *outlines);
/* Appends outlines to the selection shown (taken). */
void            dothi_edit_layer_add_selection (DothiEditLayer *self,
                                                GPtrArray      *outlines);

/* Hit tests in widget coordinates, against the sketch as drawn now: the
 * vertex within @radius pixels, or the segment (*@after is the index of
 * its first vertex). */
gboolean        dothi_edit_layer_find_vertex  (DothiEditLayer *self,
                                               double          x,
                                               double          y,
                                               double          radius,
                                               int            *path,
                                               int            *vertex);
gboolean        dothi_edit_layer_find_segment (DothiEditLayer *self,
                                               double          x,
                                               double          y,
                                               double          radius,
                                               int            *path,
                                               int            *after);

G_END_DECLS
