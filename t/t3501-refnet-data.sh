#!/bin/sh

test_description='mlv-refnet -d: training on a .npy or CSV data file

One row per sample, the features then the label (a whole number); the
class count is one more than the largest label unless --classes says
more.  The same values as CSV, .npy float32 or float64 train the same
weights; malformed files are refused naming the place.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-refnet.sh

# make_npy DESCR SHAPE [FORTRAN] <values >file: a .npy file (version 1.0)
# of the whitespace-separated values on stdin, packed per DESCR ('<f4',
# '<f8' or '<i4'), with SHAPE written as given ("(10, 4)").
make_npy () {
	perl -e '
		my ($descr, $shape, $fortran) = @ARGV;
		local $/;
		my @v = split " ", <STDIN>;
		my $fmt = { "<f4" => "f<", "<f8" => "d<", "<i4" => "l<" }->{$descr};
		my $h = "{\x27descr\x27: \x27$descr\x27, \x27fortran_order\x27: $fortran, \x27shape\x27: $shape, }";
		$h .= " " while (10 + length($h) + 1) % 64;
		$h .= "\n";
		binmode STDOUT;
		print "\x93NUMPY\x01\x00", pack("v", length $h), $h, pack("$fmt*", @v);
	' "$1" "$2" "${3:-False}"
}

test_expect_success 'setup: a data set of 200 rows, 3 features' '
	awk "BEGIN {
		for (i = 0; i < 200; i++) {
			a = (i * 7) % 13 - 6; b = (i * 5) % 11 / 2 - 2.5; c = (i % 9) * 0.25
			printf \"%g,%g,%g,%d\n\", a, b, c, (a + b > 0) + (c > 1)
		}
	}" >data.csv &&
	test_line_count = 200 data.csv &&
	tr , " " <data.csv >values
'

test_expect_success 'a CSV file: features and classes from the file' '
	mlv-refnet --seed 1 -d data.csv -o csv.safetensors >out 2>err &&
	grep "file data: 200 samples, 3 features, 3 classes" err &&
	test_line_count = 5 out &&
	st_header csv.safetensors >h.json &&
	jq -e ".\"fc1.weight\".shape == [64,3] and .\"fc2.weight\".shape == [3,64]" h.json &&
	jq -e ".__metadata__ | .data == \"file\" and .samples == \"200\" and .features == \"3\"" h.json
'

test_expect_success 'the same file and seed: the same weights, any thread count' '
	mlv-refnet -q --seed 1 -d data.csv --threads 1 -o csv1.safetensors &&
	mlv-refnet -q --seed 1 -d data.csv --threads 3 -o csv3.safetensors &&
	cmp csv.safetensors csv1.safetensors &&
	cmp csv.safetensors csv3.safetensors &&
	mlv-refnet -q --seed 2 -d data.csv -o csv-seed2.safetensors &&
	! same_tensors csv.safetensors csv-seed2.safetensors
'

test_expect_success 'a header line, comments, blank lines, CRLF and blanks are fine' '
	{
		echo "a, b, c, label" &&
		echo "# a comment" &&
		echo &&
		sed -e "s/,/ , /g" -e "s/\$/\r/" data.csv
	} >fancy.csv &&
	mlv-refnet -q --seed 1 -d fancy.csv -o fancy.safetensors &&
	cmp csv.safetensors fancy.safetensors
'

test_expect_success '.npy float32 and float64 train what the CSV trains' '
	make_npy "<f4" "(200, 4)" <values >data.npy &&
	mlv-refnet -q --seed 1 -d data.npy -o npy.safetensors &&
	cmp csv.safetensors npy.safetensors &&
	make_npy "<f8" "(200, 4)" <values >data8.npy &&
	mlv-refnet -q --seed 1 -d data8.npy -o npy8.safetensors &&
	cmp csv.safetensors npy8.safetensors
'

test_expect_success '--classes: more classes than labels; fewer is an error' '
	mlv-refnet -q --seed 1 -d data.csv --classes 5 -o five.safetensors &&
	st_header five.safetensors | jq -e ".\"fc2.bias\".shape == [5]" &&
	test_expect_code 1 mlv-refnet -q -d data.csv --classes 2 -o two.safetensors 2>err &&
	grep "^mlv-refnet: error: data.csv: label 2 is not below --classes 2" err &&
	test_path_is_missing two.safetensors
'

test_expect_success 'one row, one feature' '
	echo "0.5,1" >one.csv &&
	mlv-refnet -q -d one.csv -o one.safetensors &&
	st_header one.safetensors | jq -e ".\"fc1.weight\".shape == [64,1] and .\"fc2.bias\".shape == [2]"
'

# check_bad FILE MESSAGE: training on FILE fails with exit 1 and MESSAGE.
check_bad () {
	test_expect_code 1 mlv-refnet -q -d "$1" -o bad.safetensors 2>err &&
	grep -e "^mlv-refnet: error: $2" err &&
	test_path_is_missing bad.safetensors
}

test_expect_success 'malformed CSV files are refused, naming the line' '
	printf "1,2,0\n3,4\n" >short.csv &&
	check_bad short.csv "short.csv:2: expected 3 fields, found 2" &&
	printf "1,2,0\n3,x,1\n" >word.csv &&
	check_bad word.csv "word.csv:2: field 2: not a finite number" &&
	printf "1,2,0\n3,nan,1\n" >nan.csv &&
	check_bad nan.csv "nan.csv:2: field 2: not a finite number" &&
	printf "1,2,0\n3,1e39,1\n" >huge.csv &&
	check_bad huge.csv "huge.csv:2: field 2: not a finite number" &&
	printf "1,2,0.5\n" >frac.csv &&
	check_bad frac.csv "frac.csv:1: label 0.5 is not a whole number" &&
	printf "1,2,-1\n" >neg.csv &&
	check_bad neg.csv "neg.csv:1: label -1 is not a whole number" &&
	printf "1,2,70000\n" >big.csv &&
	check_bad big.csv "big.csv:1: label 70000 is not a whole number" &&
	printf "1,,0\n" >empty-field.csv &&
	check_bad empty-field.csv "empty-field.csv:1: field 2: not a finite number" &&
	printf "1 2,0\n" >two-in-one.csv &&
	check_bad two-in-one.csv "two-in-one.csv:1: field 1: not a finite number" &&
	printf "5\n" >label-only.csv &&
	check_bad label-only.csv "label-only.csv:1: 1 fields: need features and a label" &&
	printf "# nothing\n\n" >empty.csv &&
	check_bad empty.csv "empty.csv: no data rows" &&
	: >zero.csv &&
	check_bad zero.csv "zero.csv: no data rows" &&
	printf "1,2,0\n3,4,1\0\n5,6\n" >nul.csv &&
	check_bad nul.csv "nul.csv: a NUL byte at offset 11: neither .npy nor CSV"
'

test_expect_success 'malformed .npy files are refused' '
	make_npy "<i4" "(2, 2)" <values >int.npy &&
	check_bad int.npy "int.npy: unsupported .npy dtype" &&
	make_npy "<f4" "(200, 4)" True <values >fortran.npy &&
	check_bad fortran.npy "fortran.npy: a .npy array in Fortran order is not supported" &&
	make_npy "<f4" "(800,)" <values >flat.npy &&
	check_bad flat.npy "flat.npy: expected a 2-dimensional .npy array" &&
	make_npy "<f4" "(2, 2, 200)" <values >cube.npy &&
	check_bad cube.npy "cube.npy: expected a 2-dimensional .npy array" &&
	make_npy "<f4" "(201, 4)" <values >short.npy &&
	check_bad short.npy "short.npy: 3200 bytes of data where shape (201, 4) needs 3216" &&
	make_npy "<f4" "(200, 4)" <values >good.npy &&
	head -c 40 good.npy >cut.npy &&
	check_bad cut.npy "cut.npy: not a valid .npy file" &&
	echo "0 0 0 0.5" | make_npy "<f4" "(1, 4)" >frac.npy &&
	check_bad frac.npy "frac.npy: row 1: label 0.5 is not a whole number"
'

test_expect_success 'a missing file or a directory: exit 1' '
	check_bad nosuch.csv "cannot open .nosuch.csv.: No such file or directory" &&
	mkdir dir &&
	check_bad dir ".dir. is not a regular file"
'

test_done
