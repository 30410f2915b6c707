/* dothi-layout.h: print layouts: a page (A4–A0 or custom, portrait or
 * landscape) and the items placed on it, stored as JSON in the project
 * (table dothi_layouts) so a layout is made once and printed again
 * (DESIGN.md §6 Print).
 *
 * The JSON, all lengths in millimetres from the page's top-left corner:
 * {
 *   "name": "Bản đồ quy hoạch sử dụng đất",
 *   "page": { "size": "A3", "orientation": "landscape",
 *             "width": 420, "height": 297 },     (width/height for "custom")
 *   "items": [
 *     { "type": "map", "id": "map", "x": 10, "y": 10, "w": 300, "h": 260,
 *       "scale": 2000,                 (1:N; 0 or absent: fit "extent")
 *       "extent": [minx, miny, maxx, maxy],   (project CRS; or "center": [x, y])
 *           (scale > 0 with an extent: the extent's centre at 1:N; a
 *           "center" needs a scale > 0; none of the three: the printer
 *           fits the extent of the layers drawn)
 *       "layers": ["parcels", "zoning"],      (absent: the visible layers)
 *       "grid": 500,                   (VN-2000 grid interval in metres; 0: none, absent: automatic)
 *       "labels": true,                (plot labels: code, area, population)
 *       "basemap": "/…/city.mbtiles" }  (an offline basemap, warped to the project CRS;
 *                                       online tiles are never printed)
 *     { "type": "overview", "map": "map", "x": …, "layers": [...] },
 *     { "type": "legend", "map": "map", "x": …, "title": "Chú giải" },
 *     { "type": "scale_bar", "map": "map", "x": …, "y": …, "w": 80, "h": 12 },
 *     { "type": "north_arrow", "x": …, "y": …, "w": 12, "h": 20 },
 *     { "type": "title_block", "template": "tt04-planning" | "tt25-cadastral" | "simple",
 *       "x": …, "fields": { "agency": …, "title": …, "drawing": …, "scale": …,
 *       "decision": …, "date": …, "signer": …, … } },
 *     { "type": "text", "x": …, "text": "…", "size": 12 (pt), "bold": false,
 *       "align": "left" | "center" | "right" },
 *     { "type": "image", "x": …, "path": "/…/logo.png" },
 *     { "type": "table", "x": …, "layer": "parcels", "fields": [...],
 *       "where": "…", "max_rows": 40 },
 *     { "type": "frame", "x": …, "line": 0.5 } ],        (a drawn rectangle)
 *   "atlas": { "layer": "wards", "title_field": "ten", "margin": 0.1,
 *              "scale": 2000 }   (optional; without "scale" each page is
 *              fitted to its feature at the first standard scale 1:200, 500,
 *              1 000, 2 000, 2 500, 5 000 … that holds it)
 * }
 * Every item has "x", "y", "w", "h". Text fields may name attributes of
 * the atlas feature as {field} and say {page}, {pages}, {scale} (the
 * first map's, "1:2.000"), {date}. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "dothi-project.h"

G_BEGIN_DECLS

/* The largest page printed: A0 (841 × 1189 mm), either way round. */
#define DOTHI_PAGE_MAX_LONG_MM  1189.0
#define DOTHI_PAGE_MAX_SHORT_MM 841.0

typedef struct _DothiLayout DothiLayout;

#define DOTHI_TYPE_LAYOUT (dothi_layout_get_type ())
GType        dothi_layout_get_type (void) G_GNUC_CONST;

/* Width and height (portrait) of "A0".."A4" (case-insensitive); FALSE
 * for another name. */
gboolean     dothi_page_size_lookup (const char *name, double *width_mm, double *height_mm);

/* Parses and checks @json: page size known or custom within A0, every
 * item of a known type with a positive size on the page, a map's scale
 * not negative, item references ("map") resolved. Errors name the item
 * (its id or index) and the problem: DOTHI_ERROR_INVALID_DATA.
 * Also: "items" is required (it may be empty); "page" absent is A4
 * portrait; a named size ignores "width"/"height"; a custom page is as
 * given unless "orientation" says otherwise; ids are unique and not
 * empty; a map item without an id answers to "map"; a legend, scale bar
 * or overview without "map" takes the first map (there must be one);
 * every string is normalised to NFC. */
DothiLayout *dothi_layout_new_from_json (const char *json, GError **error);
/* A ready layout: "planning" (a zoning/land-use planning map with the
 * TT 04/2022 title block, legend, scale bar, north arrow, VN-2000 grid),
 * "cadastral" (a TT 25/2014 cadastral sheet frame), "handout" (a plain
 * A3 with title and legend). @page_size "A4".."A0", NULL for the
 * template's own; the map frame shows the project's visible layers over
 * its extent.
 * Defaults: planning A1 landscape, cadastral A1 portrait, handout A3
 * landscape; another size scales the items with the page, always inside
 * 10 mm margins and none over another. Item ids: "map", "title_block",
 * "legend", "scale_bar", "north_arrow", "overview" (planning only). The
 * map gets "center" (the visible layers' extent's, on 0.5 m) and the
 * first round "scale" of 500, 1000, 2000, 5000, 10 000, 25 000, 50 000,
 * 100 000… at which that extent fits the frame with 5% room, no
 * "layers" (the visible ones at print time), and "grid" = scale / 10 m
 * (10 cm on paper: 100 m at 1:1000, 1 km at 1:10 000; none in a
 * handout). A project without layers gets neither centre nor scale.
 * @title (NULL: "BẢN ĐỒ ĐỊA CHÍNH" for cadastral, else "BẢN ĐỒ QUY
 * HOẠCH SỬ DỤNG ĐẤT") is the title block's "title" and the layout's
 * "name" (NULL: "Bản đồ quy hoạch sử dụng đất", "Bản đồ địa chính",
 * "Bản đồ phát tay"). Title
 * block fields, Vietnamese data, not translated: tt04-planning agency
 * "ỦY BAN NHÂN DÂN", title, drawing, scale "{scale}", crs ("Hệ tọa độ
 * VN-2000, kinh tuyến trục 108°30′, múi chiếu 3°"), decision "Số:
 * …/QĐ-UBND", date "{date}", consultant, signer; tt25-cadastral title,
 * province, district, commune, sheet, sheet_code, scale, crs, date,
 * surveyor, signer; simple agency, title, scale, date. An unknown
 * template or page size is DOTHI_ERROR_INVALID_DATA. */
DothiLayout *dothi_layout_new_template (DothiProject *project,
                                        const char   *template_name,
                                        const char   *page_size,
                                        const char   *title,
                                        GError      **error);
/* A deep copy, to change on its own. */
DothiLayout *dothi_layout_copy        (DothiLayout *layout);
void         dothi_layout_free        (DothiLayout *layout);
char        *dothi_layout_to_json     (DothiLayout *layout);
/* The parsed JSON, to read or change in place (then check it again with
 * dothi_layout_validate). Borrowed. */
JsonObject  *dothi_layout_get_object  (DothiLayout *layout);
gboolean     dothi_layout_validate    (DothiLayout *layout, GError **error);
const char  *dothi_layout_get_name    (DothiLayout *layout);
/* Page size in mm as printed (orientation applied). */
void         dothi_layout_get_page_size (DothiLayout *layout, double *width_mm, double *height_mm);
/* The item whose "id" is @id, or NULL. Borrowed. "map" also finds the
 * first map item without an id. */
JsonObject  *dothi_layout_find_item   (DothiLayout *layout, const char *id);

/* Layouts in the project: table dothi_layouts (name, json, modified),
 * created on first store; one transaction each, not an action in the
 * history (as saved queries). Names are trimmed and NFC. Storing checks
 * the layout first (DOTHI_ERROR_INVALID_DATA naming it; no name is
 * INVALID_DATA too) and replaces a layout of the same name in place; a
 * read-only project is DOTHI_ERROR_READ_ONLY naming the layout, a
 * project not in SpatiaLite DOTHI_ERROR_UNSUPPORTED. Loading checks the
 * stored JSON again. */
gboolean     dothi_layout_store  (DothiProject *project, DothiLayout *layout, GError **error);
/* Names, in the order first stored (a replaced layout keeps its
 * place); empty when none. Free with g_strfreev. */
GStrv        dothi_layout_list   (DothiProject *project, GError **error);
/* DOTHI_ERROR_NOT_FOUND naming @name when there is none. */
DothiLayout *dothi_layout_load   (DothiProject *project, const char *name, GError **error);
gboolean     dothi_layout_delete (DothiProject *project, const char *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiLayout, dothi_layout_free)

G_END_DECLS
