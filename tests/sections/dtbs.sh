# dtbs: the probe on every device tree of Debian's arm64 kernel (the kernel
# pinned in guest-image/pins/aarch64.lock, 577 boards for 6.1), each as a
# snapshot of its own, checked by tests/tools/dtb_check against the tree's
# own compatible strings and status properties: the GIC version, an ITS
# only when enabled, every enabled IOMMU (#iommu-cells) found, the right
# driver named (no SMMUv3 advice for a Rockchip IOMMU), and "kernel
# unknown" where the snapshot has no sys/class/iommu.  The package is
# fetched with apt-get download into .cache/dtbs (or taken from the guest
# image's cache); nothing of it is stored in git.  About a minute.
# Sourced by tests/run.sh (pass, fail, skip, $tmp).

dtbs_lock=guest-image/pins/aarch64.lock
dtbs_pkg=$(awk '$1 ~ /^linux-image-/ { print $1 }' "$dtbs_lock" 2>/dev/null)
dtbs_ver=$(awk '$1 ~ /^linux-image-/ { print $2 }' "$dtbs_lock" 2>/dev/null)
dtbs_deb=
if [ -n "$dtbs_pkg" ]; then
	v=$(printf '%s' "$dtbs_ver" | sed 's/:/%3a/')
	for d in .cache/guest-image/aarch64/debs .cache/lab/debs .cache/dtbs; do
		[ -f "$d/${dtbs_pkg}_${v}_arm64.deb" ] && dtbs_deb=$d/${dtbs_pkg}_${v}_arm64.deb && break
	done
	if [ -z "$dtbs_deb" ]; then
		mkdir -p .cache/dtbs
		(cd .cache/dtbs && apt-get -q -o APT::Sandbox::User=root download "$dtbs_pkg:arm64=$dtbs_ver") \
			>"$tmp/dtbs-download.log" 2>&1
		[ -f ".cache/dtbs/${dtbs_pkg}_${v}_arm64.deb" ] && dtbs_deb=.cache/dtbs/${dtbs_pkg}_${v}_arm64.deb
	fi
fi
if [ -z "$dtbs_pkg" ]; then
	fail dtbs "no linux-image-* pinned in $dtbs_lock"
elif [ -z "$dtbs_deb" ]; then
	fail dtbs "cannot get $dtbs_pkg:arm64=$dtbs_ver (dpkg --add-architecture arm64; apt-get update): $(tail -3 "$tmp/dtbs-download.log" | tr '\n' ' ')"
elif [ ! -x "$TT/dtb_check" ]; then
	fail dtbs "no $TT/dtb_check (make test builds it)"
else
	mkdir -p "$tmp/dtbs" "$tmp/dtbsnap/sys/firmware"
	echo machine=aarch64 >"$tmp/dtbsnap/snapshot-info.txt"
	dpkg-deb --fsys-tarfile "$dtbs_deb" | tar -x -C "$tmp/dtbs" --wildcards '*.dtb'
	find "$tmp/dtbs" -name '*.dtb' | sort >"$tmp/dtbs.list"
	total=$(wc -l <"$tmp/dtbs.list")
	: >"$tmp/dtbs.problems"
	while read -r dtb; do
		cp "$dtb" "$tmp/dtbsnap/sys/firmware/fdt"
		"$PROBE" --json --sysroot "$tmp/dtbsnap" >"$tmp/dtb.json" 2>"$tmp/dtb.err"
		rc=$?
		if [ $rc -ge 2 ]; then
			echo "${dtb##*/}: probe exit $rc: $(head -c 200 "$tmp/dtb.err")" >>"$tmp/dtbs.problems"
			continue
		fi
		"$TT/dtb_check" "$dtb" "$tmp/dtb.json" | sed "s|$tmp/dtbs/||" >>"$tmp/dtbs.problems"
	done <"$tmp/dtbs.list"
	if [ "$total" -lt 100 ]; then
		fail dtbs/all-trees "only $total device trees in $dtbs_deb"
	elif [ -s "$tmp/dtbs.problems" ]; then
		fail dtbs/all-trees "$(wc -l <"$tmp/dtbs.problems") disagreements in $total trees: $(head -5 "$tmp/dtbs.problems" | tr '\n' ' ')"
	else
		pass "dtbs/all-trees ($total trees of $dtbs_pkg)"
	fi
	# The cases the issue names, by board, so that a regression says which.
	dtbs_case() {
		name=$1 tree=$2 check=$3 want=$4
		dtb=$(grep "/$tree\$" "$tmp/dtbs.list" | head -1)
		if [ -z "$dtb" ]; then
			fail "dtbs/$name" "no $tree in the package"
			return
		fi
		cp "$dtb" "$tmp/dtbsnap/sys/firmware/fdt"
		"$PROBE" --json --sysroot "$tmp/dtbsnap" >"$tmp/dtb.json" 2>/dev/null
		printf '%s\n' "$want" >"$tmp/dtbs-case.expect"
		expect_check "dtbs/$name" "$tmp/dtb.json" "$tmp/dtbs-case.expect"
	}
	dtbs_case rk3399-rockchip-iommu rockchip/rk3399-rockpro64.dtb iommu.present \
		'check iommu.present warn Rockchip IOMMU, kernel unknown'
	dtbs_case rk3568-rockchip-iommu rockchip/rk3568-evb1-v10.dtb iommu.present \
		'check iommu.present warn Rockchip IOMMU, kernel unknown'
	dtbs_case msm8916-qcom-iommu qcom/msm8916-mtp.dtb iommu.present \
		'check iommu.present warn Qualcomm IOMMU, kernel unknown'
	dtbs_case sun50i-h6-iommu allwinner/sun50i-h6-pine-h64.dtb iommu.present \
		'check iommu.present warn Allwinner IOMMU, kernel unknown'
	dtbs_case tegra210-mc tegra210-p3450-0000.dtb iommu.present \
		'check iommu.present warn Tegra SMMU (memory controller), kernel unknown'
	dtbs_case renesas-ipmmu renesas/r8a774a1-hihope-rzg2m.dtb iommu.present \
		'check iommu.present warn Renesas IPMMU, kernel unknown'
	dtbs_case amlogic-soc-not-family amlogic/meson-gxl-s905x-libretech-cc.dtb host \
		'host soc amlogic,s905x'
	dtbs_case qcom-its-disabled qcom/sdm845-mtp.dtb gic.version \
		'check gic.version pass v3'
fi
