# SPDX-License-Identifier: MIT
# bench.sh: "name median spread% rounds min" per workload from the
# "BENCH name ticks iterations" lines of every round; spread is
# (max - min) / median of ticks per iteration.
$1 == "BENCH" {
	v = $3 / $4; n = ++cnt[$2]; val[$2, n] = v
	if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 }
}
END {
	for (w = 1; w <= k; w++) {
		name = order[w]; n = cnt[name]
		for (i = 1; i <= n; i++) s[i] = val[name, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && s[j - 1] > s[j]; j--) {
				t = s[j]; s[j] = s[j - 1]; s[j - 1] = t
			}
		if (n % 2) med = s[(n + 1) / 2]
		else med = (s[n / 2] + s[n / 2 + 1]) / 2
		spread = med > 0 ? 100 * (s[n] - s[1]) / med : 0
		printf "%s %.3f %.2f %d %.3f\n", name, med, spread, n, s[1]
	}
}
