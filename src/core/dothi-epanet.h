/* dothi-epanet.h: Dothi's own reader of EPANET .inp water network models
 * (no GDAL driver exists), presented as an in-memory GDAL dataset so the
 * ordinary import path stores it, and the writer of an edited network
 * back to .inp. */
#pragma once

#include <glib.h>
#include <gdal.h>

G_BEGIN_DECLS

/* TRUE when @path looks like an EPANET input file (extension .inp, or a
 * [JUNCTIONS]/[PIPES] section near the start). */
gboolean dothi_epanet_probe (const char *path);

/* Parses @path and returns a GDAL "Memory" dataset (owned by the caller,
 * GDALClose it) with layers junctions, reservoirs, tanks (Point), pipes,
 * pumps, valves (LineString, with the [VERTICES] in between). Attributes
 * are converted from the file's [OPTIONS] Units to SI: lengths, elevations
 * and heads in metres, diameters in millimetres, flows and demands in
 * litres per second. Layers have no spatial reference: .inp files carry
 * none. A syntax error is DOTHI_ERROR_INVALID_DATA naming the file, the line
 * number and the section.
 *
 * Fields (all six layers start with "id", text as EPANET ids are):
 *   junctions   elevation_m, demand_lps, pattern
 *   reservoirs  head_m, pattern
 *   tanks       elevation_m, init_level_m, min_level_m, max_level_m,
 *               diameter_m, min_volume_m3, volume_curve
 *   pipes       node1, node2, length_m, diameter_mm, roughness, minor_loss,
 *               status (OPEN, CLOSED or CV)
 *   pumps       node1, node2, parameters (the rest of the line as written,
 *               "HEAD 1"), power_kw (NULL unless POWER is given)
 *   valves      node1, node2, diameter_mm, type (PRV, PSV, PBV, FCV, TCV,
 *               GPV, PCV), setting, minor_loss, curve
 * demand_lps is the junction's base demand: the sum of its [DEMANDS]
 * entries when it has any (they replace the [JUNCTIONS] column, as in
 * EPANET), without the demand multiplier. A pattern is the id the file
 * gives; NULL means the model's default pattern. Roughness is unitless for
 * H-W and C-M, and in millimetres for D-W. A valve setting is metres of head
 * for PRV/PSV/PBV, litres per second for FCV, the loss coefficient for TCV
 * and the percent open for PCV; a GPV has a NULL setting and its head loss
 * curve in "curve". A node without [COORDINATES], and a link either of whose
 * end nodes has none, gets a NULL geometry.
 *
 * The dataset's metadata carries EPANET_UNITS (the file's flow units),
 * EPANET_HEADLOSS and, when present, EPANET_TITLE.
 *
 * The text must be UTF-8 (a BOM is skipped); ids are stored as NFC. Other
 * encodings are not guessed: they fail with a message suggesting a legacy
 * code page, and dothi_epanet_open_with_encoding() reads them.
 * Runs on any thread, once GDALAllRegister() has (the mains and tests call
 * it at startup). */
GDALDatasetH dothi_epanet_open (const char *path, GError **error);

/* As dothi_epanet_open(), with the file's text decoded from @encoding, an
 * iconv name such as "CP1258" or "CP1252"; NULL or "UTF-8" is
 * dothi_epanet_open(). */
GDALDatasetH dothi_epanet_open_with_encoding (const char  *path,
                                              const char  *encoding,
                                              GError     **error);

/* Writes the EPANET model of the project at @project_path to @out_path
 * (UTF-8, a temporary file renamed at the end). @layers names the six
 * layers as dothi_epanet_open() made them, in the order junctions,
 * reservoirs, tanks, pipes, pumps, valves (a NULL or empty entry: none);
 * NULL @layers takes the tables of those names that exist. Units are LPS
 * with the SI fields written as they are; the headloss formula and the
 * sections Dothi does not keep ([PATTERNS], [CURVES], [CONTROLS], [TIMES],
 * [ENERGY], [QUALITY], [REACTIONS], [REPORT] and the other [OPTIONS]) come
 * from the layers' source .inp when it is still where it was imported
 * from, converted to LPS and metres (pump, volume and valve curves,
 * control levels and settings); [RULES], [EMITTERS], [SOURCES], [MIXING]
 * and [STATUS] are copied only from a file already in SI units.
 * Ids and attributes are kept. A link's end nodes are the nodes at its
 * geometry's ends (within 1 cm), else the node1/node2 it names; a link
 * whose id another link also has (a pipe split in Dothi) keeps it on its
 * lowest fid, the others and links without an id get fresh unique ids,
 * and a split point becomes a new junction (no demand, elevation
 * interpolated between the pipe's ends); the pieces of a split pipe share
 * its length_m in proportion to their drawn lengths. [COORDINATES] and
 * [VERTICES] come from the geometries, in the layers' CRS.
 * A missing layer is DOTHI_ERROR_NOT_FOUND, a layer without an "id" field
 * DOTHI_ERROR_INVALID_DATA; nothing is written then. */
gboolean dothi_epanet_export (const char         *project_path,
                              const char * const *layers,
                              const char         *out_path,
                              GError            **error);

G_END_DECLS
