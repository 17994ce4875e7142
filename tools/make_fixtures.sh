#!/bin/sh
# Makes the few binary test fixtures of Tests/EnhanceImageTests/Fixtures that Enhance's own encoders
# cannot produce (progressive and CMYK JPEG), with ImageMagick 6 (libjpeg-turbo). Run by hand from
# the repository root; the output is committed. Everything else is generated inside the tests.
#
#   tools/make_fixtures.sh
#
# Each image is synthetic (drawn here), 16x16 or 32x32 pixels.
set -eu
out=Tests/EnhanceImageTests/Fixtures
mkdir -p "$out"
strip="-strip -define png:exclude-chunks=date,time"

# A 32x32 colour gradient (red across, green down, blue constant), its lossless reference and a
# progressive JPEG of it at IJG quality 75.
convert -size 32x32 gradient:red-blue -rotate 90 \( -size 32x32 gradient:black-lime \) \
    -compose Screen -composite $strip PNG24:"$out/gradient32.png"
convert "$out/gradient32.png" -strip -interlace JPEG -quality 75 -sampling-factor 2x2 "$out/progressive-q75.jpg"

# A 16x16 CMYK JPEG (Adobe marker, inverted samples as ImageMagick and Photoshop write them):
# quadrants red | green over blue | white, at quality 100 without chroma subsampling.
convert \( -size 8x8 xc:'#ff0000' -size 8x8 xc:'#00ff00' +append \) \
        \( -size 8x8 xc:'#0000ff' -size 8x8 xc:'#ffffff' +append \) -append \
        -colorspace CMYK -strip -quality 100 -sampling-factor 1x1 "$out/cmyk-quadrants.jpg"

ls -l "$out"
